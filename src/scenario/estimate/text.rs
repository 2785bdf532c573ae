//! How an estimate reads: `validate`'s line, and the refusals.
//!
//! A refusal names the key behind the largest part of its figure (of the
//! parts that have keys, the key of the largest factor), lists the three
//! largest parts with their keys, says why tasks pile up when the cell
//! cannot keep up, and says what to change: the part's keys, that key
//! first, each to make smaller — or larger, for an interval such as
//! `scheduler.pass_interval_ms` — then the flag that raises the limit.
//! Two exceptions for memory: when the program's fixed cost fills the
//! limit or is the largest part, no key helps, so `--max-memory` is named;
//! and a figure beyond this machine's memory does not suggest raising
//! `--max-memory` (the command line caps the limit at that memory).
//! Saturated figures read "more than 16 EiB", never "about".

use super::{Estimate, Key, Limits, Part, ATTEMPTS_PER_S, EVENTS_PER_S};
use bytesize::ByteSize;
use std::fmt;

/// A count for messages: exact below a million, else three figures
/// (`2.69e6`); `u64::MAX` (saturated) reads "more than 1.8e19".
pub fn count(n: u64) -> String {
    match n {
        u64::MAX => "more than 1.8e19".to_string(),
        n if n < 1_000_000 => n.to_string(),
        n => format!("{:.2e}", n as f64),
    }
}

/// A ratio for messages: one decimal below a thousand, else three figures.
pub(super) fn times(x: f64) -> String {
    match x {
        x if x.is_infinite() => "without bound".to_string(),
        x if x < 1000.0 => format!("{x:.1} ×"),
        x => format!("{x:.2e} ×"),
    }
}

/// A size; `u64::MAX` (saturated) reads "more than 16 EiB".
pub(super) fn bytes(n: u64) -> String {
    match n {
        u64::MAX => "more than 16 EiB".to_string(),
        n => ByteSize(n).to_string(),
    }
}

/// An estimated size: "about 1.4 GiB", or "more than 16 EiB".
pub(super) fn about_bytes(n: u64) -> String {
    match n {
        u64::MAX => bytes(n),
        n => format!("about {}", ByteSize(n)),
    }
}

/// A `--max-memory` value a quarter above `n`, whole GiB or MiB, but not
/// beyond this machine's memory (then the largest whole MiB within it, or
/// bytes).
pub(super) fn suggest_size(n: u64, physical: Option<u64>) -> String {
    let cap = physical.unwrap_or(u64::MAX).max(n);
    let want = n.saturating_add(n / 4).min(cap);
    let gib = want.div_ceil(1 << 30);
    let mib = want.div_ceil(1 << 20);
    if gib > 1 && gib.saturating_mul(1 << 30) <= cap {
        format!("{gib}GiB")
    } else if mib.saturating_mul(1 << 20) <= cap {
        format!("{mib}MiB")
    } else {
        want.to_string()
    }
}

/// How long `seconds` are, in words.
pub(super) fn run_time(seconds: f64) -> String {
    let minutes = (seconds / 60.0) as u64;
    match minutes {
        0 => "under a minute".to_string(),
        1..120 => format!("about {minutes} minutes"),
        m if m < 48 * 60 => format!("about {} hours", m / 60),
        m => format!("about {} days", count(m / 60 / 24)),
    }
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The key to name — the main key of `part` — and what to change: its
/// keys, main first, then by factor, each made smaller (those that
/// multiply the figure, by more than 1) or larger (intervals).
fn advice(part: Option<&Part>) -> (String, String) {
    let Some(main) = part.and_then(Part::main_key) else {
        return ("duration_s".into(), "make duration_s smaller".into());
    };
    let part = part.expect("a part with keys");
    let mut keys: Vec<&Key> = vec![main];
    let mut rest: Vec<&Key> = part.keys.iter().collect();
    rest.sort_by(|a, b| b.factor.total_cmp(&a.factor));
    for k in rest {
        let useful = k.larger || k.factor > 1.0;
        if useful && !keys.iter().any(|o| o.name == k.name) {
            keys.push(k);
        }
    }
    let names = |larger: bool| -> Vec<&str> {
        keys.iter()
            .filter(|k| k.larger == larger)
            .map(|k| k.name.as_str())
            .collect()
    };
    let (smaller, larger) = (names(false), names(true));
    let text = match (smaller.is_empty(), larger.is_empty()) {
        (false, true) => format!("make {} smaller", or_list(&smaller)),
        (true, _) => format!("make {} larger", or_list(&larger)),
        (false, false) => format!(
            "make {} smaller, or {} larger",
            or_list(&smaller),
            or_list(&larger)
        ),
    };
    (main.name.clone(), text)
}

/// The part to name (the largest with keys), and the three largest parts
/// as "what (keys)", each preceded by "amount for " when `show` shows
/// amounts.
fn explain(parts: &[Part], show: Option<fn(u64) -> String>) -> (Option<&Part>, String) {
    let mut by_size: Vec<&Part> = parts.iter().filter(|p| p.amount > 0).collect();
    by_size.sort_by_key(|p| std::cmp::Reverse(p.amount));
    let main = by_size.iter().copied().find(|p| p.main_key().is_some());
    let text: Vec<String> = by_size
        .iter()
        .take(3)
        .map(|p| {
            let mut keys: Vec<&str> = Vec::new();
            for k in &p.keys {
                if !keys.contains(&k.name.as_str()) {
                    keys.push(&k.name);
                }
            }
            let amount = show.map_or(String::new(), |f| format!("{} for ", f(p.amount)));
            match keys.is_empty() {
                true => format!("{amount}{}", p.what),
                false => format!("{amount}{} ({})", p.what, keys.join(", ")),
            }
        })
        .collect();
    (main, text.join(", "))
}

impl Estimate {
    /// The refusal, if any: memory over its limit, then events over
    /// theirs, then scheduling attempts. The error names the key behind
    /// the largest part of the figure (`--max-memory` when the program's
    /// fixed cost is the largest, or alone beyond the limit).
    pub fn check(&self, limits: &Limits) -> Result<(), (String, String)> {
        if self.memory_bytes > limits.memory_bytes {
            return Err(self.memory_refusal(limits));
        }
        if self.events > limits.events {
            let (main, parts) = explain(&self.event_parts, None);
            let (key, advice) = advice(main);
            let message = format!(
                "the run would not end in reasonable time: about {} events ({} at \
                 {EVENTS_PER_S} events/s), more than the limit of {} (--max-events): {parts}; \
                 {advice}, or raise the limit with --max-events",
                count(self.events),
                run_time(self.events as f64 / EVENTS_PER_S as f64),
                count(limits.events)
            );
            return Err((key, message));
        }
        if self.attempts > limits.attempts {
            let (main, parts) = explain(&self.attempt_parts, None);
            let (key, advice) = advice(main);
            let message = format!(
                "the run would not end in reasonable time: its scheduling passes would make \
                 about {} attempts to place pending tasks ({} at {ATTEMPTS_PER_S} attempts/s), \
                 more than the limit of {} (--max-attempts): {parts}{}; {advice}, or raise the \
                 limit with --max-attempts",
                count(self.attempts),
                run_time(self.attempts as f64 / ATTEMPTS_PER_S as f64),
                count(limits.attempts),
                self.overload_note(", and every pass tries them again")
            );
            return Err((key, message));
        }
        Ok(())
    }

    fn memory_refusal(&self, limits: &Limits) -> (String, String) {
        let n = self.memory_bytes;
        let (main, parts) = explain(&self.memory_parts, Some(bytes));
        let head = format!(
            "the run would need {} of memory, more than the limit of {} ({}): {parts}{}",
            about_bytes(n),
            bytes(limits.memory_bytes),
            limits.memory_source,
            self.overload_note("")
        );
        let suggestion = suggest_size(n, limits.physical_bytes);
        let fixed: u64 = self
            .memory_parts
            .iter()
            .filter(|p| p.fixed)
            .map(|p| p.amount)
            .sum();
        let largest = self
            .memory_parts
            .iter()
            .fold(None::<&Part>, |a, p| match a {
                Some(a) if a.amount >= p.amount => Some(a),
                _ => Some(p),
            });
        let cost = format!(
            "the program's fixed cost ({}: the binary, its font and buffers)",
            bytes(fixed)
        );
        let why_fixed = if limits.memory_bytes <= fixed {
            Some(format!("{cost} alone fills the limit"))
        } else if largest.is_some_and(|p| p.fixed) {
            Some(format!("the largest part is {cost}"))
        } else {
            None
        };
        if let Some(why) = why_fixed {
            let message = format!(
                "{head}; {why}: raise the limit with --max-memory (e.g. --max-memory {suggestion})"
            );
            return ("--max-memory".to_string(), message);
        }
        let (key, advice) = advice(main);
        let raise = match limits.physical_bytes {
            Some(p) if n > p => format!(
                "; this machine has {} of memory in all, so --max-memory cannot help",
                bytes(p)
            ),
            _ => format!(", or raise the limit with --max-memory (e.g. --max-memory {suggestion})"),
        };
        (key, format!("{head}; {advice}{raise}"))
    }

    /// Why tasks pile up, for messages, followed by `then` (empty when
    /// the cell keeps up).
    fn overload_note(&self, then: &str) -> String {
        match self.overload {
            None => String::new(),
            Some((resource, x)) => format!(
                "; the cell cannot keep up: it is offered {} its {resource}, so pending tasks \
                 pile up{then}",
                times(x)
            ),
        }
    }

    /// The run's time at [`EVENTS_PER_S`] and [`ATTEMPTS_PER_S`], in seconds.
    pub fn run_time_s(&self) -> f64 {
        self.events as f64 / EVENTS_PER_S as f64 + self.attempts as f64 / ATTEMPTS_PER_S as f64
    }
}

impl fmt::Display for Estimate {
    /// One line for `borgsim validate`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.trace {
            return write!(
                f,
                "{} machines from the scenario, the rest read from the trace as the run goes; \
                 {} of memory before the trace",
                count(self.machines),
                about_bytes(self.memory_bytes)
            );
        }
        let overload = match self.overload {
            None => String::new(),
            Some((resource, x)) => format!(
                " (the cell cannot keep up: it is offered {} its {resource})",
                times(x)
            ),
        };
        write!(
            f,
            "{} machines, {} jobs of {} tasks, {} live at the peak{overload}, {} events, \
             {} scheduling attempts, {} samples, {} of memory, run time {}",
            count(self.machines),
            count(self.jobs),
            count(self.tasks),
            count(self.live_tasks),
            count(self.events),
            count(self.attempts),
            count(self.samples),
            about_bytes(self.memory_bytes),
            run_time(self.run_time_s())
        )
    }
}
