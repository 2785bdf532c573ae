//! container_usage: what each online container used, sample by sample, as
//! [`TraceEvent::Usage`] records.
//!
//! The table is far larger than container_meta (a row per container per
//! sample), so it is streamed, never loaded: a row is read when it is the
//! earliest of the reader's heads, and made a usage record of the
//! container's current run — the one container_meta's rows up to that
//! instant describe. Its percentages are of that run's own request, so the
//! run must be known: a row for a container with no live run then (not yet
//! started, stopped, never seen in container_meta) is dropped, counted as
//! `container_usage.container_not_live`. The rules are in the module docs
//! of `alibaba2018.rs`, under *Usage*.

use super::containers::Containers;
use super::tables::{id, Ctx, Table};
use super::Phase;
use crate::cell::resources::Resources;
use crate::error::Result;
use crate::time::{SimTime, US_PER_S};
use crate::trace::input::{CsvLayout, CsvRows, Decimal, Row};
use crate::trace::Source as TraceFile;
use crate::trace::{lenient, Monotone, ReadStats, TraceEvent, TraceRecord};

/// One usable row: the percentages of the container's request it used.
struct UsageRow {
    time: SimTime,
    container: u32,
    cpu_percent: Decimal,
    mem_percent: Decimal,
}

/// The container_usage stream.
pub(super) struct ContainerUsage {
    rows: CsvRows,
    head: Option<UsageRow>,
    monotone: Monotone,
    done: bool,
}

impl ContainerUsage {
    pub fn new(files: Vec<TraceFile>) -> Self {
        ContainerUsage {
            rows: CsvRows::new(files, CsvLayout::HEADERLESS),
            head: None,
            monotone: Monotone::default(),
            done: false,
        }
    }

    /// When the next row is due ([`Phase::Usage`]: after the instant's
    /// starts, so a container started then is live).
    pub fn next_key(&mut self, ctx: &mut Ctx<'_>) -> Result<Option<(SimTime, Phase)>> {
        self.fill(ctx)?;
        Ok(self.head.as_ref().map(|h| (h.time, Phase::Usage)))
    }

    /// The next row as a usage record of its container's current run;
    /// `None` (counted) if the container has no live run.
    pub fn pop(
        &mut self,
        containers: Option<&Containers>,
        stats: &mut ReadStats,
    ) -> Option<TraceRecord> {
        let row = self.head.take()?;
        let Some((task, request)) = containers.and_then(|c| c.run_of(row.container)) else {
            stats.repair("container_usage.container_not_live");
            return None;
        };
        // A percentage of the run's request: request × percent / 100.
        let usage = Resources::new(
            row.cpu_percent.scale_ratio(request.cpu_milli, 100),
            row.mem_percent.scale_ratio(request.mem_mib, 100),
        );
        Some(TraceRecord {
            time: row.time,
            event: TraceEvent::Usage { task, usage },
        })
    }

    /// Reads rows until a usable one is the head (or the table ends).
    fn fill(&mut self, ctx: &mut Ctx<'_>) -> Result<()> {
        let table = Table::ContainerUsage.name();
        while self.head.is_none() && !self.done {
            let adv = self.rows.advance();
            if !matches!(adv, Ok(false)) {
                ctx.stats.rows += 1;
            }
            match lenient(adv, ctx.lenient, ctx.stats, table)? {
                Some(true) => {}
                Some(false) => {
                    self.done = true;
                    return Ok(());
                }
                None => continue,
            }
            let parsed = usage_row(self.rows.row(), ctx.stats);
            let Some(Some(mut row)) = lenient(parsed, ctx.lenient, ctx.stats, table)? else {
                continue;
            };
            row.time = self.monotone.fix(row.time, ctx.stats, table);
            self.head = Some(row);
        }
        Ok(())
    }
}

/// Parses a row; `None` (counted as `container_usage.usage_missing`) for
/// one without both percentages.
fn usage_row(row: Row<'_>, stats: &mut ReadStats) -> Result<Option<UsageRow>> {
    row.expect_fields(5, "container_usage")?;
    let container = id(&row, 0, "container_id", "c_", u64::from(u32::MAX) + 1)? as u32;
    // time_stamp is published as a double: seconds, exactly, to µs.
    let time = SimTime(row.decimal(2, "time_stamp")?.scale(US_PER_S));
    let cpu = row.opt_decimal(3, "cpu_util_percent")?;
    let mem = row.opt_decimal(4, "mem_util_percent")?;
    let (Some(cpu_percent), Some(mem_percent)) = (cpu, mem) else {
        stats.repair("container_usage.usage_missing");
        return Ok(None);
    };
    Ok(Some(UsageRow {
        time,
        container,
        cpu_percent,
        mem_percent,
    }))
}
