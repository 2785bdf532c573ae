//! The trace's names: numbered ids (`m_123`, `c_7`, `app_42`, `j_9`) and
//! batch task names, which carry a job's DAG.

/// Stages of tasks named `task_<random>` have this bit set; DAG stages
/// (`M5_3_4` → 5) must be below it, so the two never collide.
pub const INDEPENDENT_STAGE_BIT: u32 = 1 << 31;

/// The number in `<prefix><digits>`: `numbered("m_123", "m_") == Some(123)`.
pub fn numbered(s: &str, prefix: &str) -> Option<u64> {
    let digits = s.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A batch task's place in its job's DAG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskName {
    pub stage: u32,
    /// Stages of the same job it waits for, in the name's order.
    pub after: Vec<u32>,
    /// Repair rules the name needed (counted as `batch_task.<rule>`).
    pub repairs: Vec<&'static str>,
}

/// Reads a task name.
///
/// - `M5_3_4`: stage 5, after stages 3 and 4. The leading letters (task
///   kinds such as M, R, J) are ignored.
/// - `task_<random>`: an independent task; its stage is a hash of the name
///   with [`INDEPENDENT_STAGE_BIT`] set.
///
/// The published table also has variants (alibaba/clusterdata issue #76):
/// parts that are not numbers (`J10_7_9_Stg4`) and trailing underscores
/// (`J3_1_2_`) are ignored (`task_name_extra_part`); a task that names
/// itself (`M2_2`) does not wait for itself (`self_dependency`); a stage
/// named twice is waited for once (`duplicate_dependency`); a name of
/// neither form is an independent task (`task_name_unrecognised`).
///
/// `Err` only for a stage number that does not fit below the independent
/// range.
pub fn task_name(name: &str) -> Result<TaskName, String> {
    if name.starts_with("task_") {
        return Ok(independent(name, Vec::new()));
    }
    let rest = name.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (stage_text, tail) = rest.split_at(digits);
    if rest.len() == name.len()
        || stage_text.is_empty()
        || !(tail.is_empty() || tail.starts_with('_'))
    {
        return Ok(independent(name, vec!["task_name_unrecognised"]));
    }
    let stage = stage_number(stage_text)?;
    let mut out = TaskName {
        stage,
        after: Vec::new(),
        repairs: Vec::new(),
    };
    for part in tail.split('_').skip(1) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            out.repairs.push("task_name_extra_part");
            continue;
        }
        let dep = stage_number(part)?;
        if dep == stage {
            out.repairs.push("self_dependency");
        } else if out.after.contains(&dep) {
            out.repairs.push("duplicate_dependency");
        } else {
            out.after.push(dep);
        }
    }
    Ok(out)
}

fn stage_number(digits: &str) -> Result<u32, String> {
    digits
        .parse::<u32>()
        .ok()
        .filter(|&n| n < INDEPENDENT_STAGE_BIT)
        .ok_or_else(|| format!("stage number {digits} is not below 2^31"))
}

/// An independent task: FNV-1a (32-bit) of the name, top bit set. Two
/// independent tasks of one job collide with probability about 2^-31.
fn independent(name: &str, repairs: Vec<&'static str>) -> TaskName {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    TaskName {
        stage: h | INDEPENDENT_STAGE_BIT,
        after: Vec::new(),
        repairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dag(name: &str) -> (u32, Vec<u32>, Vec<&'static str>) {
        let t = task_name(name).unwrap();
        (t.stage, t.after, t.repairs)
    }

    #[test]
    fn dag_names_give_stage_and_dependencies() {
        // M5_3_4: stage 5 waits for stages 3 and 4; the letter means nothing.
        assert_eq!(dag("M5_3_4"), (5, vec![3, 4], vec![]));
        assert_eq!(dag("R2_1"), (2, vec![1], vec![]));
        assert_eq!(dag("J12"), (12, vec![], vec![]));
        assert_eq!(dag("MergeTask7_1"), (7, vec![1], vec![]));
        // Variants seen in the published table.
        assert_eq!(
            dag("J10_7_9_Stg4"),
            (10, vec![7, 9], vec!["task_name_extra_part"])
        );
        assert_eq!(
            dag("J3_1_2_"),
            (3, vec![1, 2], vec!["task_name_extra_part"])
        );
        assert_eq!(dag("M2_2_1"), (2, vec![1], vec!["self_dependency"]));
        assert_eq!(dag("M3_1_1"), (3, vec![1], vec!["duplicate_dependency"]));
        assert!(task_name("M4294967296").is_err());
        assert!(task_name("M2147483648").is_err()); // 2^31: the independent range
    }

    #[test]
    fn independent_tasks_get_stages_above_every_dag_stage() {
        let a = task_name("task_Nzg3ODAwNDgzMTAwNTc2NTQ2Mw==").unwrap();
        let b = task_name("task_MTM2NjEwNjQzNDQ1NDYxMDc2MjI=").unwrap();
        assert!(a.stage >= INDEPENDENT_STAGE_BIT && b.stage >= INDEPENDENT_STAGE_BIT);
        assert_ne!(a.stage, b.stage);
        assert!(a.after.is_empty() && a.repairs.is_empty());
        // The same name always gets the same stage.
        assert_eq!(task_name("task_x").unwrap(), task_name("task_x").unwrap());
        for odd in ["MergeTask", "5_1", "M_1", "M5x_1", ""] {
            let t = task_name(odd).unwrap();
            assert!(t.stage >= INDEPENDENT_STAGE_BIT, "{odd}");
            assert_eq!(t.repairs, ["task_name_unrecognised"], "{odd}");
        }
    }

    #[test]
    fn numbered_ids_need_their_prefix_and_digits() {
        assert_eq!(numbered("m_123", "m_"), Some(123));
        assert_eq!(numbered("j_0", "j_"), Some(0));
        assert_eq!(numbered("m_", "m_"), None);
        assert_eq!(numbered("m_12a", "m_"), None);
        assert_eq!(numbered("c_12", "m_"), None);
        assert_eq!(numbered("m_-1", "m_"), None);
        assert_eq!(numbered("m_99999999999999999999", "m_"), None);
    }
}
