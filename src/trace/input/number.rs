//! Numbers parsed from bytes in place: integers without allocating, and
//! non-negative decimals held exactly for unit scaling.

/// Parses `[+-]digits` without allocating.
pub fn parse_int(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    Some(if neg { -v } else { v })
}

/// A non-negative decimal number held exactly: `mantissa × 10^exp10`.
///
/// Normalised trace values ("largest machine = 1.0", NCU, Alibaba's 0–100)
/// are parsed into this and scaled to integer units by exact integer
/// arithmetic ([`Decimal::scale`]), so a conversion never depends on float
/// rounding and is the same on every platform.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Decimal {
    pub mantissa: u128,
    pub exp10: i32,
}

impl Decimal {
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        exp10: 0,
    };

    /// Parses `digits[.digits][e[+-]digits]`. Negative numbers, NaN and
    /// infinities are refused; more than 30 significant digits too.
    pub fn parse(b: &[u8]) -> Option<Decimal> {
        let b = b.strip_prefix(b"+").unwrap_or(b);
        let (num, exp) = match b.iter().position(|&c| c == b'e' || c == b'E') {
            Some(i) => (&b[..i], i32::try_from(parse_int(&b[i + 1..])?).ok()?),
            None => (b, 0),
        };
        let (int_part, frac) = match num.iter().position(|&c| c == b'.') {
            Some(i) => (&num[..i], &num[i + 1..]),
            None => (num, &b""[..]),
        };
        if int_part.is_empty() && frac.is_empty() {
            return None;
        }
        let mut m: u128 = 0;
        let mut digits = 0;
        for &c in int_part.iter().chain(frac) {
            if !c.is_ascii_digit() {
                return None;
            }
            if m == 0 && c == b'0' {
                continue;
            }
            digits += 1;
            if digits > 30 {
                return None;
            }
            m = m * 10 + u128::from(c - b'0');
        }
        let exp10 = exp.checked_sub(i32::try_from(frac.len()).ok()?)?;
        if !(-60..=30).contains(&exp10) {
            return if m == 0 { Some(Decimal::ZERO) } else { None };
        }
        Some(Decimal { mantissa: m, exp10 })
    }

    /// `round(self × unit)`, halves rounded up, exactly; saturates at u64::MAX.
    pub fn scale(&self, unit: u64) -> u64 {
        self.scale_ratio(unit, 1)
    }

    /// `round(self × unit / of)`, halves rounded up, exactly: a value on a
    /// 0–`of` scale (Alibaba's memory 0–100), in `unit`s. Saturates.
    pub fn scale_ratio(&self, unit: u64, of: u64) -> u64 {
        let mut num = self.mantissa.saturating_mul(u128::from(unit));
        let mut den = u128::from(of.max(1));
        if self.exp10 >= 0 {
            num = num.saturating_mul(10u128.saturating_pow(self.exp10 as u32));
        } else {
            let e = (-self.exp10) as u32;
            match 10u128.checked_pow(e).and_then(|p| den.checked_mul(p)) {
                Some(d) => den = d,
                None => return 0,
            }
        }
        let v = num / den + u128::from(num % den >= den.div_ceil(2) && den > 1);
        u64::try_from(v).unwrap_or(u64::MAX)
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }
}
