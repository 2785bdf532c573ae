//! `borgsim explain`'s output: text for people (a Kubernetes-style summary
//! line, then the machines that fit by score, preemption's options and the
//! rejected machines grouped by filter and reason) and JSON for programs
//! (every machine). Both are functions of the report alone, so the same
//! run prints the same bytes.

use super::{seconds, Report, Standing};
use borgsim::sched::explain::{
    AttemptKind, Explanation, FilterVerdict, MachineExplained, PreemptOption,
};
use borgsim::sched::pipeline::{Outcome, Verdict};
use borgsim::sched::reason::Reason;
use borgsim::time::SimTime;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Machine ids listed per group of rejected machines.
const IDS_SHOWN: usize = 8;

/// The explanation shown: the attempt's, or the hypothetical one.
fn shown<'a>(r: &'a Report) -> Option<&'a Explanation> {
    r.attempt
        .map(|a| &a.explanation)
        .or(r.hypothetical.as_ref())
}

pub(super) fn text(r: &Report) -> String {
    let mut out = header(r);
    match shown(r) {
        Some(e) => {
            out += &decision_text(r, e);
            out += &plugins_text(e);
            if r.all {
                out += &all_machines(e);
                out += &preemption_text(e, usize::MAX);
            } else {
                out += &top_machines(e, r.top);
                out += &preemption_text(e, r.top);
                out += &rejected_text(e);
            }
        }
        None => out += &nothing_to_explain(r),
    }
    out
}

/// Who the task is, which attempt this is, and where it stood at the end.
fn header(r: &Report) -> String {
    let sc = &r.sc.scheduler;
    let mut out = format!(
        "task {} of {} (seed {}, policy {}, preemption {})",
        r.wanted,
        r.sc.name,
        r.sc.seed,
        sc.policy.name(),
        if sc.preemption { "on" } else { "off" }
    );
    if let Some(f) = &r.facts {
        let req = f.request;
        let _ = write!(
            out,
            ": {}, priority {}, {}, requesting {} cpu_milli, {} mem_mib, {} gpu_milli",
            f.band.name(),
            f.priority,
            match f.tasks {
                1 => "its job's only task".to_string(),
                n => format!("one of its job's {n} tasks"),
            },
            req.res.cpu_milli,
            req.res.mem_mib,
            req.gpu.milli()
        );
    }
    out.push('\n');
    out += &attempt_line(r);
    if let Some(t) = r.at {
        let when = if t == SimTime::NEVER {
            format!("at the end ({} s)", seconds(r.now))
        } else if r.now < t && r.done {
            format!(
                "at the end ({} s: the run ended before {} s)",
                seconds(r.now),
                seconds(t)
            )
        } else {
            format!("at {} s", seconds(t))
        };
        let _ = writeln!(out, "{when}: {}", standing_text(&r.standing, run_end(r)));
    }
    out
}

/// When the run ends (ended, or will at its horizon), if it has one.
fn run_end(r: &Report) -> Option<SimTime> {
    match r.done {
        true => Some(r.now),
        false => Some(r.sc.horizon()).filter(|&h| h != SimTime::NEVER),
    }
}

fn attempt_line(r: &Report) -> String {
    let Some(a) = r.attempt else {
        return String::new();
    };
    let which = match r.at {
        None => "its first".to_string(),
        Some(_) => format!("its last by then ({} in all)", r.attempts),
    };
    let mut line = format!(
        "attempt: {which}, in pass {} at {} s",
        a.pass,
        seconds(a.at)
    );
    if let AttemptKind::SameJob { task_index, .. } = a.kind {
        let _ = write!(
            line,
            " — decided for {}/{task_index}, an identical task of its job that failed \
             there first; the pass then skipped this one (pending.csv counts it so)",
            r.wanted.job()
        );
    }
    line + "\n"
}

fn standing_text(s: &Standing, end: Option<SimTime>) -> String {
    match s {
        Standing::Pending {
            since,
            evictions,
            queued,
            oom_hold,
        } => {
            let mut text = format!(
                "pending since {} s ({evictions} evictions so far)",
                seconds(*since)
            );
            if let Some(q) = queued {
                let _ = write!(
                    text,
                    "; reschedule_queued: {} (pending.csv reports the same)",
                    q.describe(end)
                );
            }
            if let Some(h) = oom_hold {
                let _ = write!(
                    text,
                    "; backing_off: {} (pending.csv reports the same)",
                    h.describe()
                );
            }
            text
        }
        Standing::Running { machine, since } => {
            format!("running on machine {machine} since {} s", seconds(*since))
        }
        Standing::Ended => "ended (finished, or withdrawn: killed, or dropped as it fitted nowhere on arrival in a one-by-one replay)".into(),
        Standing::Held(why) => format!("held outside the cell: {why}"),
    }
}

/// No attempt, and nothing to evaluate: say why.
fn nothing_to_explain(r: &Report) -> String {
    if let Some(never) = r.facts.as_ref().and_then(|f| f.never.as_ref()) {
        return format!(
            "never attempted: never_schedulable: {never}\n\
             (the scheduler skips a task no machine could host even empty; \
             pending.csv reports the same)\n"
        );
    }
    match &r.standing {
        Standing::Held(why) => format!(
            "never attempted: held outside the cell by the trace replay ({why}); \
             pending.csv lists it as held\n"
        ),
        s => format!("no attempt to explain: {}\n", standing_text(s, run_end(r))),
    }
}

/// The summary line, the machines examined, the decision and the pass's.
fn decision_text(r: &Report, e: &Explanation) -> String {
    let mut out = format!("\n{}\n", summary(e));
    out += &examined_text(e, &r.sc.scheduler);
    let label = match r.attempt {
        Some(_) => "decision",
        None => "decision, were it attempted then",
    };
    let _ = writeln!(out, "{label}: {}", decision(e));
    match r.attempt {
        Some(a) if a.agrees() => {
            let _ = writeln!(out, "the pass decided the same (pass {}).", a.pass);
        }
        Some(_) => out += "the pass decided otherwise: a bug in borgsim.\n",
        None => {
            let at = r.at.filter(|&t| t != SimTime::NEVER).unwrap_or(r.now);
            let _ = writeln!(
                out,
                "(no attempt by then: this is how the pipeline would see the task on the cell \
                 at {} s, examining every machine)",
                seconds(at)
            );
        }
    }
    out
}

/// Kubernetes' line: `0/250 machines are available: …` when nothing fits
/// (`pending.csv`'s `why`, word for word), else the tally.
pub(super) fn summary(e: &Explanation) -> String {
    let n = e.machines.len();
    let (free, preempt, rejected) = e.tally();
    if let Outcome::Unschedulable(c) = &e.outcome {
        return c.describe(n);
    }
    let mut s = format!("{free}/{n} machines fit as is");
    if preempt > 0 {
        let _ = write!(s, ", {preempt} only with evictions");
    }
    if rejected > 0 {
        let parts: Vec<String> = Reason::ALL
            .iter()
            .filter(|r| e.counts.get(**r) > 0)
            .map(|r| format!("{} {}", e.counts.get(*r), r.key()))
            .collect();
        let _ = write!(s, "; {rejected} rejected: {}", parts.join(", "));
    }
    s
}

/// Which machines the pass examined, and how it came to those.
fn examined_text(e: &Explanation, sched: &borgsim::scenario::SchedulerConfig) -> String {
    let n = e.machines.len();
    let Some(s) = &e.sampled else {
        return match sched.relaxed_randomization {
            false => "examined: every machine (relaxed randomization off)\n".into(),
            true => "examined: every machine (a pass would examine a sample)\n".into(),
        };
    };
    let how = match (s.cached, s.already) {
        (false, _) => format!(
            "a fresh scan of the seeded scan order from offset {} ({})",
            s.start,
            if !(sched.score_cache || sched.equivalence_classes) {
                "class caches are off"
            } else if sched.spreading.is_some() {
                "no class cache may serve this task: the spreading score (and any spread \
                 limit of its job) depends on where the job's other tasks run"
            } else {
                "no class cache may serve this task: its job's spread limits make a \
                 machine's verdict depend on where the job's other tasks run"
            }
        ),
        (true, 0) => format!(
            "a new cache of its class, scanning the seeded scan order from offset {}",
            s.start
        ),
        (true, k) => format!(
            "the cache of its class, which had examined {k} machines of the seeded scan \
             order from offset {} in earlier decisions (re-evaluating those that changed)",
            s.start
        ),
    };
    let until = if matches!(e.outcome, Outcome::Place(_)) && e.tally().0 >= s.enough {
        format!("until {} of them fit as is", s.enough)
    } else {
        format!("fewer than {} fit as is, so every machine", s.enough)
    };
    format!(
        "examined: {} of {n} machines (relaxed randomization): {how}, {until}\n",
        e.examined
    )
}

/// The decision and the rule that made it.
fn decision(e: &Explanation) -> String {
    match &e.outcome {
        Outcome::Place(m) => {
            let mut s = format!(
                "placed on machine {m}: the highest total of the examined machines that fit \
                 as is (ties go to the lowest id)"
            );
            if let Some(b) = best_of_all(e).filter(|b| b.machine != *m) {
                let _ = write!(
                    s,
                    "; the best of the whole cell, machine {} (total {}), was not examined",
                    b.machine,
                    b.total.unwrap_or(0)
                );
            }
            s
        }
        Outcome::Preempt(plan) => format!(
            "placed on machine {} after evicting {} task(s): no machine fits as is, and of \
             the plans preemption found its costs least (see below)",
            plan.machine,
            plan.victims.len()
        ),
        Outcome::Unschedulable(_) => match (&e.preemption, e.threshold) {
            (_, None) => "stays pending: no machine fits as is, and preemption is off".into(),
            (Some(p), _) if p.is_empty() => "stays pending: no machine fits as is, nor with \
                 evictions of lower-priority tasks"
                .into(),
            _ => "stays pending: no machine fits as is, and on no machine would evicting \
                  every lower-priority task make room"
                .into(),
        },
    }
}

/// The machine the exhaustive pipeline would choose among those that fit.
fn best_of_all(e: &Explanation) -> Option<&MachineExplained> {
    e.machines
        .iter()
        .filter(|m| matches!(m.verdict, Verdict::Free(_)))
        .max_by_key(|m| (m.total, std::cmp::Reverse(m.machine)))
}

fn plugins_text(e: &Explanation) -> String {
    let mask = e
        .machines
        .first()
        .map(|m| m.filters.clone())
        .unwrap_or_default();
    let filters: Vec<String> = e
        .filters
        .iter()
        .enumerate()
        .map(|(i, f)| match mask.get(i) {
            Some(FilterVerdict::NotApplicable) => {
                format!("{f} (does not apply: admits every machine)")
            }
            _ => f.to_string(),
        })
        .collect();
    let scorers: Vec<String> = e
        .scorers
        .iter()
        .map(|(s, w)| format!("{w} × {s}"))
        .collect();
    format!(
        "\nfilters, in order (the first to reject a machine names the reason): {}\n\
         scorers (each 0–10000): total = {}\n",
        filters.join(", "),
        scorers.join(" + ")
    )
}

/// The top `k` machines that fit as is, by total (ties: lowest id).
fn top_machines(e: &Explanation, k: usize) -> String {
    let mut fit: Vec<&MachineExplained> = e
        .machines
        .iter()
        .filter(|m| matches!(m.verdict, Verdict::Free(_)))
        .collect();
    if fit.is_empty() {
        return String::new();
    }
    fit.sort_by_key(|m| (std::cmp::Reverse(m.total), m.machine));
    let mut head = vec!["machine".to_string()];
    head.extend(e.scorers.iter().map(|(s, _)| s.to_string()));
    head.extend(["total".to_string(), String::new()]);
    let rows = fit.iter().take(k).map(|m| score_row(e, m)).collect();
    let sampled = if e.sampled.is_some() {
        "; * = not examined by the pass"
    } else {
        ""
    };
    format!(
        "\ntop {} of the {} machines that fit as is, by total (ties: lowest id{sampled}):\n{}",
        k.min(fit.len()),
        fit.len(),
        table(&head, rows)
    )
}

/// A machine's scores, its total and a mark (chosen, not examined).
fn score_row(e: &Explanation, m: &MachineExplained) -> Vec<String> {
    let mut row = vec![m.machine.to_string()];
    row.extend(m.scores.iter().map(u64::to_string));
    row.push(m.total.map_or("-".into(), |t| t.to_string()));
    row.push(mark(e, m).into());
    row
}

fn mark(e: &Explanation, m: &MachineExplained) -> &'static str {
    let chosen = match &e.outcome {
        Outcome::Place(c) => *c == m.machine,
        Outcome::Preempt(p) => p.machine == m.machine,
        Outcome::Unschedulable(_) => false,
    };
    match (chosen, m.examined) {
        (true, _) => "<- chosen",
        (false, false) => "*",
        (false, true) => "",
    }
}

/// Preemption's options, cheapest first, when it was asked.
fn preemption_text(e: &Explanation, k: usize) -> String {
    if let (Some(options), Some(below)) = (&e.preemption, e.threshold) {
        if options.is_empty() {
            return format!(
                "\npreemption: tasks below priority {below} may be evicted, but no machine \
                 would fit even with all of its evicted\n"
            );
        }
    }
    let (Some(options), Some(below)) = (&e.preemption, e.threshold) else {
        let n = e.tally().1;
        return match n {
            0 => String::new(),
            _ => {
                format!(
                "\nonly with evictions: {n} machines ({}); not asked, as some machine fits as is\n",
                ids(e.machines.iter().filter(|m| m.verdict == Verdict::Preempt).map(|m| m.machine))
            )
            }
        };
    };
    let mut sorted: Vec<&PreemptOption> = options.iter().collect();
    sorted.sort_by_key(|o| {
        let cost = o.plan.as_ref().map(|p| p.cost);
        (cost.is_none(), cost, std::cmp::Reverse(o.score), o.machine)
    });
    let head: Vec<String> = [
        "machine",
        "top_priority",
        "victims",
        "priority_sum",
        "total",
        "evicts",
        "",
    ]
    .map(String::from)
    .to_vec();
    let rows = sorted.iter().take(k).map(|o| preempt_row(e, o)).collect();
    format!(
        "\npreemption: tasks below priority {below} may be evicted; {} machines fit only with \
         evictions. The plan chosen evicts least: the lowest top victim priority, then the \
         fewest victims, then the lowest sum of their priorities, then the best total, then the \
         lowest id ({} shown):\n{}",
        options.len(),
        k.min(options.len()),
        table(&head, rows)
    )
}

fn preempt_row(e: &Explanation, o: &PreemptOption) -> Vec<String> {
    let m = &e.machines[o.machine as usize];
    match &o.plan {
        Some(p) => vec![
            o.machine.to_string(),
            p.cost.0.to_string(),
            p.cost.1.to_string(),
            p.cost.2.to_string(),
            o.score.to_string(),
            o.victims
                .iter()
                .map(|v| format!("{} (priority {})", v.task, v.priority))
                .collect::<Vec<_>>()
                .join(", "),
            mark(e, m).into(),
        ],
        None => vec![
            o.machine.to_string(),
            "-".into(),
            "-".into(),
            "-".into(),
            o.score.to_string(),
            "(not enough room even evicting all of them)".into(),
            String::new(),
        ],
    }
}

/// Rejected machines grouped by (filter, reason), with a few ids each.
fn rejected_text(e: &Explanation) -> String {
    let mut groups: BTreeMap<(usize, Reason), Vec<u32>> = BTreeMap::new();
    for m in &e.machines {
        if let Some((i, FilterVerdict::Reject(r))) = m
            .filters
            .iter()
            .enumerate()
            .find(|(_, v)| matches!(v, FilterVerdict::Reject(_)))
        {
            groups.entry((i, *r)).or_default().push(m.machine);
        }
    }
    if groups.is_empty() {
        return String::new();
    }
    let total: usize = groups.values().map(Vec::len).sum();
    let mut out = format!("\nrejected: {total} machines\n");
    for ((i, r), ms) in &groups {
        let _ = writeln!(
            out,
            "  {} {}: {} ({})",
            e.filters[*i],
            r.key(),
            ms.len(),
            ids(ms.iter().copied())
        );
    }
    out
}

/// `3, 8, 44, …`: the first few ids.
fn ids(it: impl Iterator<Item = u32>) -> String {
    let all: Vec<u32> = it.collect();
    let mut s: Vec<String> = all.iter().take(IDS_SHOWN).map(u32::to_string).collect();
    if all.len() > IDS_SHOWN {
        s.push("…".into());
    }
    s.join(", ")
}

/// `--all`: every machine in id order, every filter's verdict and score.
fn all_machines(e: &Explanation) -> String {
    let mut head = vec!["machine".to_string()];
    head.extend(e.filters.iter().map(|f| f.to_string()));
    head.extend(e.scorers.iter().map(|(s, _)| s.to_string()));
    head.extend(["total".to_string(), String::new()]);
    let rows = e
        .machines
        .iter()
        .map(|m| {
            let mut row = vec![m.machine.to_string()];
            row.extend(m.filters.iter().map(|v| v.label().to_string()));
            row.extend(m.scores.iter().map(u64::to_string));
            row.resize(1 + e.filters.len() + e.scorers.len(), "-".into());
            row.push(m.total.map_or("-".into(), |t| t.to_string()));
            row.push(mark(e, m).into());
            row
        })
        .collect();
    let sampled = match e.sampled {
        Some(_) => " (* = not examined by the pass)",
        None => "",
    };
    format!("\nevery machine{sampled}:\n{}", table(&head, rows))
}

/// Columns padded to their widest cell, numbers right-aligned.
fn table(head: &[String], rows: Vec<Vec<String>>) -> String {
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::from(" ");
        for (c, w) in cells.iter().zip(&width) {
            let pad = w - c.chars().count();
            if c.starts_with(|ch: char| ch.is_ascii_digit() || ch == '-') {
                s += &" ".repeat(pad);
                s += c;
            } else {
                s += c;
                s += &" ".repeat(pad);
            }
            s.push_str("  ");
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head);
    for row in &rows {
        out += &line(row);
    }
    out
}

pub(super) fn json(r: &Report) -> String {
    let sc = &r.sc.scheduler;
    let facts = r.facts.as_ref().map(|f| {
        json!({
            "job_serial": f.serial, "band": f.band.name(), "priority": f.priority,
            "tasks_in_job": f.tasks, "cpu_milli": f.request.res.cpu_milli,
            "mem_mib": f.request.res.mem_mib, "gpu_milli": f.request.gpu.milli(),
            "never_schedulable": f.never,
        })
    });
    let attempt = r.attempt.map(|a| {
        json!({
            "time_s": seconds(a.at), "pass": a.pass, "attempts": r.attempts,
            "decided_for": match a.kind {
                AttemptKind::Own => r.wanted.to_string(),
                AttemptKind::SameJob { task_index, .. } => format!("{}/{task_index}", r.wanted.job()),
            },
            "pass_agrees": a.agrees(),
        })
    });
    let doc = json!({
        "scenario": r.sc.name, "seed": r.sc.seed, "policy": sc.policy.name(),
        "preemption": sc.preemption, "task": r.wanted.to_string(), "job": facts,
        "at_s": r.at.map(|t| if t == SimTime::NEVER { "end".into() } else { seconds(t) }),
        "stopped_at_s": seconds(r.now), "standing": standing_text(&r.standing, run_end(r)),
        "reschedule_queue": queue_json(r),
        "attempt": attempt,
        "hypothetical": r.attempt.is_none() && r.hypothetical.is_some(),
        "explanation": shown(r).map(explanation_json),
    });
    serde_json::to_string_pretty(&doc).expect("serialisable") + "\n"
}

/// A task the rate limit holds back: where it stands in the queue; null
/// for any other.
fn queue_json(r: &Report) -> Value {
    let Standing::Pending {
        queued: Some(q), ..
    } = &r.standing
    else {
        return Value::Null;
    };
    json!({
        "since_s": seconds(q.since), "position": q.position, "queued": q.queued,
        "release_s": q.turn.map(|(_, at)| seconds(at)),
        "tasks_per_window": q.turn.map(|(rule, _)| rule.tasks),
        "window_s": q.turn.map(|(rule, _)| rule.window.as_us() / 1_000_000),
        "why": q.describe(run_end(r)),
    })
}

fn explanation_json(e: &Explanation) -> Value {
    let decision = match &e.outcome {
        Outcome::Place(m) => json!({"kind": "place", "machine": m}),
        Outcome::Preempt(p) => {
            json!({"kind": "preempt", "machine": p.machine, "victims": p.victims})
        }
        Outcome::Unschedulable(_) => json!({"kind": "unschedulable"}),
    };
    let reasons: serde_json::Map<String, Value> = Reason::ALL
        .iter()
        .map(|r| (r.key().to_string(), json!(e.counts.get(*r))))
        .collect();
    json!({
        "summary": summary(e),
        "filters": e.filters,
        "scorers": e.scorers.iter().map(|(s, w)| json!({"name": s, "weight": w})).collect::<Vec<_>>(),
        "examined": e.examined,
        "sampled": e.sampled.as_ref().map(|s| json!({
            "start": s.start, "already": s.already, "enough": s.enough, "cached": s.cached,
        })),
        "reasons": reasons,
        "decision": decision,
        "preemption_threshold": e.threshold,
        "preemption": e.preemption.as_ref().map(|p| p.iter().map(|o| json!({
            "machine": o.machine, "cost": o.plan.as_ref().map(|p| p.cost),
            "victims": o.victims, "total": o.score,
        })).collect::<Vec<_>>()),
        "machines": e.machines.iter().map(|m| json!({
            "machine": m.machine, "examined": m.examined, "filters": m.filters,
            "verdict": verdict_label(m.verdict), "scores": m.scores, "total": m.total,
        })).collect::<Vec<_>>(),
    })
}

fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Free(_) => "fits",
        Verdict::Preempt => "fits_with_evictions",
        Verdict::Reject(r) => r.key(),
    }
}
