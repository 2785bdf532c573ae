//! Unit tests of the synthetic usage model: keyed draws (order, windows),
//! the noise bound, the daily cycle's peak and trough, the long-run mean,
//! clamping, and the model lookup by job class.

use super::*;
use crate::scenario::UsageModelConfig;
use crate::workload::dist::to_u64;

/// Five-minute windows, as Borg's reservation tick.
const WINDOW_S: u64 = 300;

fn model(cpu: Dist, mem: Dist, noise: u32, diurnal: u32, peak_hour: u32) -> UsageModelConfig {
    UsageModelConfig {
        cpu_permille: cpu,
        mem_permille: mem,
        noise_permille: noise,
        diurnal_permille: diurnal,
        peak_hour,
    }
}

/// A source whose model 0 is `m` (one class, "web").
fn source(m: &UsageModelConfig) -> SyntheticUsage {
    let classes = [("workload.jobs[0].usage".to_string(), "web", m)];
    SyntheticUsage::build(
        RngStreams::new(42),
        SimDuration::from_secs(WINDOW_S),
        &classes,
        None,
    )
    .unwrap()
}

fn key(job_serial: u64, index: u32) -> UsageKey {
    UsageKey { job_serial, index }
}

/// The start of window `w` (plus `into_s` seconds into it).
fn at(w: u64, into_s: u64) -> SimTime {
    SimTime::from_secs(w * WINDOW_S + into_s)
}

const LIMIT: Resources = Resources {
    cpu_milli: 10_000,
    mem_mib: 10_000,
};

/// CPU uniform in 200–800 ‰, memory lognormal around 400 ‰ (σ 0.5), 30 %
/// noise (300 ‰), 20 % daily swing (200 ‰), peak at 14 h.
fn uniform_cpu_lognormal_mem() -> UsageModelConfig {
    model(
        Dist::Uniform {
            min: 200.0,
            max: 800.0,
        },
        Dist::Lognormal {
            median: 400.0,
            sigma: 0.5,
            max: None,
        },
        300,
        200,
        14,
    )
}

#[test]
fn a_window_s_usage_does_not_depend_on_when_or_in_what_order_it_is_asked() {
    let m = uniform_cpu_lognormal_mem();
    let cells: Vec<(UsageKey, u64)> = (0..20)
        .flat_map(|t| (0..30).map(move |w| (key(t / 4, (t % 4) as u32), w)))
        .collect();
    let ask = |src: &SyntheticUsage, order: &mut dyn Iterator<Item = &(UsageKey, u64)>| {
        let mut got: Vec<((UsageKey, u64), Resources)> = order
            .map(|&(k, w)| ((k, w), src.usage(ModelId(0), k, &LIMIT, at(w, 0))))
            .collect();
        got.sort_by_key(|(kw, _)| *kw);
        got
    };
    // Forwards, backwards, and with another source of the same seed that
    // has already answered other questions: the same answers.
    let forwards = ask(&source(&m), &mut cells.iter());
    let backwards = ask(&source(&m), &mut cells.iter().rev());
    let used = source(&m);
    let _ = ask(&used, &mut cells.iter().step_by(7));
    let again = ask(&used, &mut cells.iter().rev().step_by(1));
    assert_eq!(forwards, backwards);
    assert_eq!(forwards, again);
    // Anywhere inside a window: the window's usage (299 s into window 5).
    let k = key(3, 1);
    let src = source(&m);
    let start = src.usage(ModelId(0), k, &LIMIT, at(5, 0));
    assert_eq!(src.usage(ModelId(0), k, &LIMIT, at(5, 299)), start);
    // Another seed draws another workload's usage.
    let other = SyntheticUsage::build(
        RngStreams::new(43),
        SimDuration::from_secs(WINDOW_S),
        &[("k".into(), "web", &m)],
        None,
    )
    .unwrap();
    assert_ne!(other.usage(ModelId(0), k, &LIMIT, at(5, 0)), start);
}

#[test]
fn different_windows_and_tasks_draw_different_usage() {
    // Mean 500 ‰ of 10,000 = 5,000 ± 10 %: 1,001 possible values per
    // resource, so 100 windows' noise draws give ~95 distinct values; a
    // noise drawn once (not per window) would give 1.
    let m = model(Dist::Constant(500.0), Dist::Constant(500.0), 100, 0, 14);
    let src = source(&m);
    let k = key(7, 0);
    let mut cpu: Vec<u64> = (0..100)
        .map(|w| src.usage(ModelId(0), k, &LIMIT, at(w, 0)).cpu_milli)
        .collect();
    let mem: Vec<u64> = (0..100)
        .map(|w| src.usage(ModelId(0), k, &LIMIT, at(w, 0)).mem_mib)
        .collect();
    assert_ne!(cpu, mem, "CPU and memory draw their own noise");
    cpu.sort_unstable();
    cpu.dedup();
    assert!(cpu.len() >= 80, "{} distinct of 100", cpu.len());
    // Two tasks of one job, and the same index of two jobs, differ in a
    // window (with a uniform mean, in their means too).
    let m = model(
        Dist::Uniform {
            min: 100.0,
            max: 900.0,
        },
        Dist::Constant(500.0),
        0,
        0,
        14,
    );
    let src = source(&m);
    let u = |k| src.usage(ModelId(0), k, &LIMIT, at(0, 0)).cpu_milli;
    assert_ne!(u(key(7, 0)), u(key(7, 1)));
    assert_ne!(u(key(7, 0)), u(key(8, 0)));
    // Noise 0: the mean, every window (one draw per task, not per window).
    assert!((0..50)
        .all(|w| src.usage(ModelId(0), key(7, 0), &LIMIT, at(w, 0)).cpu_milli == u(key(7, 0))));
}

#[test]
fn noise_stays_within_its_bound_and_reaches_it() {
    // Mean 500 ‰, noise 100 ‰: 10,000 × 0.5 × (1 + 0.1 z), z in [−1, 1)
    // → [4,500, 5,500), rounded: 4,500..=5,500. Over 10,000 windows the
    // extremes come within 10 of the bounds (each side's chance of missing
    // is (1 − 10/1000)^10,000 ≈ e^−100).
    let m = model(Dist::Constant(500.0), Dist::Constant(500.0), 100, 0, 14);
    let src = source(&m);
    let all: Vec<Resources> = (0..10_000)
        .map(|w| src.usage(ModelId(0), key(1, 2), &LIMIT, at(w, 0)))
        .collect();
    for v in [
        all.iter().map(|r| r.cpu_milli).collect::<Vec<_>>(),
        all.iter().map(|r| r.mem_mib).collect(),
    ] {
        let (lo, hi) = (*v.iter().min().unwrap(), *v.iter().max().unwrap());
        assert!((4_500..4_510).contains(&lo), "{lo}");
        assert!((5_490..=5_500).contains(&hi), "{hi}");
    }
}

#[test]
fn cpu_peaks_at_peak_hour_and_troughs_twelve_hours_later_memory_has_no_cycle() {
    // Mean 500 ‰, diurnal 300 ‰, peak 14:00, no noise; limit 10,000:
    //   14:00: cos(0) = 1     → 10,000 × 0.5 × 1.3 = 6,500
    //   02:00: cos(−π) = −1   → 10,000 × 0.5 × 0.7 = 3,500
    //   20:00: cos(π/2) ≈ 6e−17 → 5,000
    //   17:00: cos(π/4) = 0.7071 → 5,000 × (1 + 0.3 × 0.7071) = 6,060.7 → 6,061
    // Windows of 300 s: 14:00 starts window 168 (50,400 s / 300).
    let m = model(Dist::Constant(500.0), Dist::Constant(500.0), 0, 300, 14);
    let src = source(&m);
    let cpu_at = |h: u64, into_s: u64| {
        let t = SimTime::from_secs(h * 3_600 + into_s);
        src.usage(ModelId(0), key(0, 0), &LIMIT, t)
    };
    assert_eq!(cpu_at(14, 0).cpu_milli, 6_500);
    assert_eq!(
        cpu_at(14, 299).cpu_milli,
        6_500,
        "the window's start decides"
    );
    assert_eq!(cpu_at(2, 0).cpu_milli, 3_500);
    assert_eq!(cpu_at(20, 0).cpu_milli, 5_000);
    assert_eq!(cpu_at(17, 0).cpu_milli, 6_061);
    // The next day repeats it (24 h = 288 windows).
    assert_eq!(cpu_at(24 + 14, 0).cpu_milli, 6_500);
    assert_eq!(cpu_at(24 + 2, 0).cpu_milli, 3_500);
    // The peak is the day's only maximum and the trough its only minimum.
    // Of 10,000 the neighbours round alike (13:55: cos(2π × 5/1440) =
    // 0.99976 → 6,499.6 → 6,500), so of 1,000,000: 649,964 at 13:55,
    // 650,000 at 14:00.
    let big = Resources::new(1_000_000, 1_000_000);
    let day: Vec<u64> = (0..288)
        .map(|w| src.usage(ModelId(0), key(0, 0), &big, at(w, 0)).cpu_milli)
        .collect();
    assert_eq!(day[167], 649_964);
    let only = |v: u64| {
        day.iter()
            .enumerate()
            .filter(|(_, &c)| c == v)
            .map(|(w, _)| w)
            .collect::<Vec<_>>()
    };
    assert_eq!(day.iter().max(), Some(&650_000));
    assert_eq!(only(650_000), vec![168], "14:00");
    assert_eq!(day.iter().min(), Some(&350_000));
    assert_eq!(only(350_000), vec![24], "02:00");
    // Memory: 5,000 all day.
    assert!((0..288).all(|w| src.usage(ModelId(0), key(0, 0), &LIMIT, at(w, 0)).mem_mib == 5_000));
}

#[test]
fn usage_over_many_windows_averages_the_mean_share() {
    // Mean 500 ‰, noise 200 ‰, diurnal 300 ‰ over 10 whole days (2,880
    // windows): the cosine sums to 0 over whole days and E[z] = 0, so the
    // mean is 10,000 × 0.5 = 5,000. The noise's standard error is
    // 5,000 × 0.2 × (1/√3) / √2,880 ≈ 10.8, so ±60 is over 5 of them; a
    // mean off by 2 % (100) falls outside.
    let m = model(Dist::Constant(500.0), Dist::Constant(500.0), 200, 300, 14);
    let src = source(&m);
    let n = 2_880;
    let (cpu, mem) = (0..n).fold((0u64, 0u64), |(c, m), w| {
        let u = src.usage(ModelId(0), key(9, 9), &LIMIT, at(w, 0));
        (c + u.cpu_milli, m + u.mem_mib)
    });
    for mean in [cpu / n, mem / n] {
        assert!((4_940..=5_060).contains(&mean), "{mean}");
    }
    // Mean shares drawn per task: uniform 200..=600 ‰ has mean 400 ‰ and
    // standard deviation 400/√12 = 115.5 ‰, so of a 10,000 limit 4,000 ±
    // 1,155. 2,000 tasks average within ±100 of 4,000: the standard error
    // is 1,155/√2,000 ≈ 26, so ±100 is about 4 of them; a mean drawn wrong
    // by 10 % (400) falls far outside.
    let m = model(
        Dist::Uniform {
            min: 200.0,
            max: 600.0,
        },
        Dist::Constant(500.0),
        0,
        0,
        14,
    );
    let src = source(&m);
    let total: u64 = (0..2_000)
        .map(|j| src.usage(ModelId(0), key(j, 0), &LIMIT, at(0, 0)).cpu_milli)
        .sum();
    let mean = total / 2_000;
    assert!((3_900..=4_100).contains(&mean), "{mean}");
}

#[test]
fn usage_is_clamped_to_the_limit_and_to_nothing() {
    // Mean 900 ‰ with diurnal 500 ‰ at the peak: 900 × 1.5 = 1,350 ‰ →
    // the limit. A mean drawn above 1,000 ‰ is clamped to 1,000 ‰ first;
    // a constant 0 uses nothing. Odd limits: 7 × 0.9 × 1.5 = 9.45 → 7.
    let m = model(Dist::Constant(900.0), Dist::Constant(1_500.0), 0, 500, 0);
    let src = source(&m);
    let limit = Resources::new(7, 3);
    assert_eq!(
        src.usage(ModelId(0), key(0, 0), &limit, SimTime::ZERO),
        limit
    );
    assert_eq!(
        src.usage(ModelId(0), key(0, 0), &LIMIT, SimTime::ZERO),
        LIMIT
    );
    // Noise 1,000 ‰ on a 1,000 ‰ mean: (1 + z) in [0, 2), never above the limit.
    let m = model(Dist::Constant(1_000.0), Dist::Constant(0.0), 1_000, 0, 0);
    let src = source(&m);
    for w in 0..1_000 {
        let u = src.usage(ModelId(0), key(0, 0), &LIMIT, at(w, 0));
        assert!(u.cpu_milli <= LIMIT.cpu_milli);
        assert_eq!(u.mem_mib, 0);
    }
    // Rounded to the nearest once: 3 × 500 ‰ = 1.5 → 2; 5 × 300 ‰ = 1.5 → 2.
    let m = model(Dist::Constant(500.0), Dist::Constant(300.0), 0, 0, 0);
    let u = source(&m).usage(ModelId(0), key(0, 0), &Resources::new(3, 5), SimTime::ZERO);
    assert_eq!(u, Resources::new(2, 2));
}

#[test]
fn the_limit_model_uses_the_limit_and_jobs_find_their_class_s_model() {
    let web = model(Dist::Constant(500.0), Dist::Constant(500.0), 0, 0, 14);
    let dflt = model(Dist::Constant(250.0), Dist::Constant(250.0), 0, 0, 14);
    let job = |name: &str| {
        let mut spec = crate::testkit::job(1, 1, 100, 1);
        spec.name = crate::workload::job::JobName {
            base: name.into(),
            serial: Some(3),
        };
        spec.into_info()
    };
    let classes = [("workload.jobs[0].usage".to_string(), "web", &web)];
    let window = SimDuration::from_secs(WINDOW_S);
    let streams = RngStreams::new(1);
    // No default: a class without a model (or a job of no class) uses its limit.
    let src = SyntheticUsage::build(streams, window, &classes, None).unwrap();
    assert_eq!(src.model_of(&job("web")), ModelId(0));
    assert_eq!(src.model_of(&job("batch")), ModelId::LIMIT);
    let k = key(0, 0);
    assert_eq!(src.usage(ModelId::LIMIT, k, &LIMIT, at(3, 0)), LIMIT);
    assert_eq!(
        src.usage(ModelId(0), k, &LIMIT, at(3, 0)),
        Resources::new(5_000, 5_000)
    );
    // With a default: model 1, 2,500 of 10,000.
    let src = SyntheticUsage::build(streams, window, &classes, Some(&dflt)).unwrap();
    assert_eq!(src.model_of(&job("batch")), ModelId(1));
    assert_eq!(src.model_of(&job("web")), ModelId(0));
    assert_eq!(
        src.usage(ModelId(1), k, &LIMIT, at(3, 0)),
        Resources::new(2_500, 2_500)
    );
    // Nothing at all: no models.
    let none = SyntheticUsage::build(streams, window, &[], None).unwrap();
    assert!(!none.has_models());
    assert_eq!(none.model_of(&job("web")), ModelId::LIMIT);
}

#[test]
fn a_bad_model_or_window_is_an_error_naming_the_key() {
    let bad = model(Dist::Constant(500.0), Dist::Constant(500.0), 0, 0, 30);
    let ok = model(Dist::Constant(500.0), Dist::Constant(500.0), 0, 0, 3);
    let window = SimDuration::from_secs(WINDOW_S);
    let streams = RngStreams::new(1);
    let classes = [("workload.jobs[4].usage".to_string(), "web", &bad)];
    let e = SyntheticUsage::build(streams, window, &classes, None).unwrap_err();
    assert_eq!(e.0, "workload.jobs[4].usage.peak_hour");
    let e = SyntheticUsage::build(streams, window, &[], Some(&bad)).unwrap_err();
    assert_eq!(e.0, "reclamation.usage.peak_hour");
    let e = SyntheticUsage::build(streams, SimDuration::ZERO, &[], Some(&ok)).unwrap_err();
    assert_eq!(e.0, "reclamation.interval_s");
}

#[test]
fn from_scenario_reads_the_job_classes_models() {
    let text = "name = \"t\"\nseed = 5\nduration_s = 1\n[cell]\n[[cell.machines]]\ncount = 1\n\
                cpu_milli = 1\nmem_mib = 1\n[scheduler]\npolicy = \"best_fit\"\n\
                [[workload.jobs]]\nname = \"a\"\nband = \"batch\"\ninitial_jobs = 1\n\
                tasks = { constant = 1 }\ncpu_milli = { constant = 1 }\nmem_mib = { constant = 1 }\n\
                [[workload.jobs]]\nname = \"b\"\nband = \"batch\"\ninitial_jobs = 1\n\
                tasks = { constant = 1 }\ncpu_milli = { constant = 1 }\nmem_mib = { constant = 1 }\n\
                usage = { cpu_permille = { constant = 400 }, mem_permille = { constant = 800 }, \
                noise_permille = 0 }\n";
    let sc = Scenario::parse(text, std::path::Path::new("t.toml")).unwrap();
    let src = SyntheticUsage::from_scenario(&sc, None, SimDuration::from_secs(60)).unwrap();
    assert_eq!(src.window(), SimDuration::from_secs(60));
    assert_eq!(src.window_index(SimTime::from_secs(179)), 2);
    let job = |name: &str| {
        let mut spec = crate::testkit::job(1, 1, 100, 1);
        spec.name = name.into();
        spec.into_info()
    };
    assert_eq!(src.model_of(&job("a")), ModelId::LIMIT);
    assert_eq!(src.model_of(&job("b")), ModelId(0));
    let u = src.usage(
        ModelId(0),
        key(0, 0),
        &Resources::new(1_000, 1_000),
        SimTime::ZERO,
    );
    assert_eq!(u, Resources::new(400, 800));
    let e = SyntheticUsage::from_scenario(&sc, None, SimDuration::ZERO).unwrap_err();
    assert_eq!(e.to_string(), "t: reclamation.interval_s: must be > 0");
}

/// A task's usage by the formula of the module doc, drawn from scratch
/// (the keyed draws and the PCG per mean share, the cosine per window):
/// what the kept memo and the daily table must reproduce bit for bit.
fn from_scratch(m: &UsageModelConfig, k: UsageKey, now: SimTime) -> Resources {
    let streams = RngStreams::new(42);
    let task = [k.job_serial, u64::from(k.index)];
    let mean = |d: &Dist, r: u64| {
        let draw = match d {
            Dist::Constant(v) => *v,
            _ => {
                let bits = streams.keyed(Stream::Usage, &[0, task[0], task[1], r]);
                d.sample(&mut SimRng::seed_from_u64(bits))
            }
        };
        draw.clamp(0.0, 1000.0)
    };
    let w = now.as_us() / (WINDOW_S * US_PER_S);
    let z = |r: u64| {
        let bits = streams.keyed(Stream::Usage, &[1, task[0], task[1], w, r]);
        (bits >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
    };
    let hour = ((w * WINDOW_S * US_PER_S) % DAY_US) as f64 / HOUR_US as f64;
    let angle = std::f64::consts::TAU * (hour - f64::from(m.peak_hour)) / 24.0;
    let diurnal = 1.0 + f64::from(m.diurnal_permille) / 1000.0 * angle.cos();
    let noise = f64::from(m.noise_permille) / 1000.0;
    let cpu = mean(&m.cpu_permille, 0) * diurnal * (1.0 + noise * z(0));
    let mem = mean(&m.mem_permille, 1) * (1.0 + noise * z(1));
    Resources::new(share_of(LIMIT.cpu_milli, cpu), share_of(LIMIT.mem_mib, mem))
}

#[test]
fn the_kept_memo_and_daily_table_draw_what_the_formula_draws() {
    let m = uniform_cpu_lognormal_mem();
    let src = source(&m);
    for k in [key(0, 0), key(7, 3), key(123_456, 9)] {
        let memo = src.memo(ModelId(0), k);
        // Two days and a bit of windows: the table wraps at 288.
        for w in (0..600).step_by(7) {
            let now = at(w, 11);
            let want = from_scratch(&m, k, now);
            assert_eq!(src.usage_memo(ModelId(0), k, &memo, &LIMIT, now), want);
            assert_eq!(src.usage(ModelId(0), k, &LIMIT, now), want);
        }
    }
    // A task without a model keeps nothing and uses its limit.
    assert_eq!(src.memo(ModelId::LIMIT, key(1, 1)), TaskMemo::default());
    let memo = TaskMemo::default();
    let u = src.usage_memo(ModelId::LIMIT, key(1, 1), &memo, &LIMIT, at(3, 0));
    assert_eq!(u, LIMIT);
}

#[test]
fn the_daily_factor_is_tabulated_when_windows_repeat_within_a_day() {
    let c = model(Dist::Constant(500.0), Dist::Constant(500.0), 0, 400, 9);
    let check = |window_s: u64, len: Option<usize>| {
        let window_us = window_s * US_PER_S;
        let m = Model::new(&c).tabulate(window_us);
        match (&m.by_window, len) {
            (Diurnal::Table(t), Some(n)) => assert_eq!(t.len(), n, "window {window_s} s"),
            (Diurnal::Each, None) => {}
            (d, _) => panic!("window {window_s} s: {d:?}, expected a table of {len:?}"),
        }
        // Three days of windows (at most 20,000): the same bits as the cosine.
        for w in 0..(3 * DAY_US / window_us).min(20_000) {
            let want = m.diurnal_factor(w * window_us);
            assert_eq!(m.diurnal_at(w, window_us).to_bits(), want.to_bits());
        }
    };
    // 300 s: 86,400 / gcd(300, 86,400) = 86,400 / 300 = 288 windows a day.
    check(300, Some(288));
    // 450 s: 86,400 / 450 = 192.
    check(450, Some(192));
    // 7 s: gcd(7, 86,400) = 1, so 86,400 windows before the day repeats:
    // more than 4,096, computed each time.
    check(7, None);
    // 5 days: gcd = 86,400 s, a table of 1 (every window starts at midnight).
    check(5 * 86_400, Some(1));
}

#[test]
fn rounding_without_f64_round_is_to_u64s() {
    // Halves go away from zero (0.5 → 1, 2.5 → 3); the largest double
    // below a half stays 0; 2^52 − 0.5 → 2^52; NaN, −0, negatives → 0;
    // past u64::MAX and ∞ saturate.
    let edges = [
        0.0,
        -0.0,
        -1.5,
        0.5,
        1.5,
        2.5,
        0.499_999_999_999_999_94,
        1.0 - f64::EPSILON / 2.0,
        4_503_599_627_370_495.5,
        4_503_599_627_370_496.0,
        9_007_199_254_740_993.0,
        1.8e19,
        1e300,
        f64::INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
    ];
    for x in edges {
        assert_eq!(round_to_u64(x), to_u64(x), "{x:e}");
    }
    let mut rng = SimRng::seed_from_u64(3);
    for _ in 0..100_000 {
        let x: f64 = rand::Rng::random_range(&mut rng, 0.0..20_000.0);
        assert_eq!(round_to_u64(x), to_u64(x), "{x:e}");
        // Exact halves and their neighbours.
        let h = (x as u64) as f64 + 0.5;
        for y in [h, h.next_down(), h.next_up()] {
            assert_eq!(round_to_u64(y), to_u64(y), "{y:e}");
        }
    }
}

#[test]
fn a_share_is_to_u64_of_the_product_whatever_the_limit() {
    // The limit converted through i64 below 2^63, through u64 above: the
    // same double either way; 2^63 and u64::MAX take the unsigned path.
    let limits = [
        0,
        1,
        999,
        10_000,
        1 << 53,
        (1 << 53) + 1,
        i64::MAX as u64,
        1 << 63,
        u64::MAX,
    ];
    for limit in limits {
        for permille in [
            0.0,
            0.4,
            333.3,
            500.0,
            999.9,
            1000.0,
            1500.0,
            -3.0,
            f64::NAN,
        ] {
            let want = to_u64(limit as f64 * permille / 1000.0).min(limit);
            assert_eq!(share_of(limit, permille), want, "{limit} × {permille}‰");
        }
    }
}
