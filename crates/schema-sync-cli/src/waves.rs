//! Canary and waves: which tenants a staged sync works on first.
//!
//! A staged rollout splits the selected tenants, in their order, into waves that run one
//! after the other. `--canary N` (the first N) or `--canary-tenants GLOB` (the matching
//! ones) make wave 0; `--waves 1,10%,100%` splits the tenants left after the canary at
//! cumulative boundaries, a count of tenants or a percentage of them (rounded up, so
//! `1%` of a small fleet is still one tenant), numbered from 1. Parsing checks what the
//! text alone can tell (the form, boundaries of one kind strictly increasing, a
//! percentage in 1..=100); [`assign`] checks the rest against the fleet (boundaries of
//! mixed kinds increasing, the last one covering every tenant). Whether a wave starts is
//! decided by the runner (`commands/rollout.rs`), not here.

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, bail};
use globset::Glob;

/// One cumulative wave boundary: where a wave ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// The first N tenants.
    Count(usize),
    /// The first P percent of the tenants (1..=100), rounded up.
    Percent(u32),
}

impl Boundary {
    /// How many tenants of `total` this boundary covers, before capping at `total`.
    fn covers(self, total: usize) -> usize {
        match self {
            Boundary::Count(n) => n,
            Boundary::Percent(p) => (total * p as usize).div_ceil(100),
        }
    }
}

impl fmt::Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Boundary::Count(n) => write!(f, "{n}"),
            Boundary::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// `--waves`: the cumulative boundaries of the waves, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveSpec(Vec<Boundary>);

impl WaveSpec {
    /// The boundaries.
    pub fn boundaries(&self) -> &[Boundary] {
        &self.0
    }
}

impl FromStr for WaveSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut boundaries: Vec<Boundary> = Vec::new();
        for (i, item) in text.split(',').map(str::trim).enumerate() {
            let boundary = parse_boundary(item).map_err(|why| {
                format!(
                    "wave {} ({item:?}) {why}; write cumulative boundaries such as 1,10%,100%",
                    i + 1
                )
            })?;
            let same_kind_before = boundaries.iter().rev().find(|b| {
                matches!(
                    (b, boundary),
                    (Boundary::Count(_), Boundary::Count(_))
                        | (Boundary::Percent(_), Boundary::Percent(_))
                )
            });
            if let Some(before) = same_kind_before
                && before.covers(100) >= boundary.covers(100)
            {
                return Err(format!(
                    "wave {} ends at {boundary}, not after {before}: boundaries are cumulative and must increase, as in 1,10%,100%",
                    i + 1
                ));
            }
            boundaries.push(boundary);
        }
        Ok(Self(boundaries))
    }
}

fn parse_boundary(item: &str) -> Result<Boundary, &'static str> {
    if item.is_empty() {
        return Err("is empty");
    }
    if let Some(percent) = item.strip_suffix('%') {
        return match percent.parse::<u32>() {
            Ok(p) if (1..=100).contains(&p) => Ok(Boundary::Percent(p)),
            Ok(_) => Err("is not a percentage from 1% to 100%"),
            Err(_) => Err("is not a whole percentage"),
        };
    }
    match item.parse::<usize>() {
        Ok(0) => Err("covers no tenant: a count starts at 1"),
        Ok(n) => Ok(Boundary::Count(n)),
        Err(_) => Err("is neither a tenant count nor a percentage"),
    }
}

/// `--canary N` or `--canary-tenants GLOB`: wave 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Canary {
    /// The first N selected tenants.
    First(usize),
    /// The selected tenants whose id matches the glob.
    Matching(String),
}

/// One wave: its number and its tenants, in selection order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave<T> {
    /// 0 for the canary, then 1, 2, … in the order of `--waves` boundaries.
    pub number: u32,
    /// Whether this is the canary.
    pub canary: bool,
    /// The tenants, possibly none (a boundary that adds nothing on a small fleet).
    pub tenants: Vec<T>,
}

/// Splits `tenants` (in their order; `id` names each) into the canary and the waves.
/// Without `--canary` the waves cover every tenant; without `--waves` everything after
/// the canary is wave 1.
///
/// # Errors
/// A canary glob that is invalid or matches no selected tenant, `--canary 0`, boundaries
/// of mixed kinds that decrease on this fleet, or a last boundary that leaves tenants out.
pub fn assign<T>(
    tenants: Vec<T>,
    id: impl Fn(&T) -> &str,
    canary: Option<&Canary>,
    waves: Option<&WaveSpec>,
) -> Result<Vec<Wave<T>>> {
    let selected = tenants.len();
    let (canaries, rest): (Vec<T>, Vec<T>) = match canary {
        None => (Vec::new(), tenants),
        Some(Canary::First(0)) => {
            bail!("--canary 0 names no canary tenant: give at least 1, or leave --canary out")
        }
        Some(Canary::First(n)) => {
            let mut rest = tenants;
            let after = rest.split_off((*n).min(selected));
            (rest, after)
        }
        Some(Canary::Matching(pattern)) => {
            let glob = Glob::new(pattern)
                .map_err(|e| anyhow::anyhow!("--canary-tenants {pattern:?} is not a glob: {e}"))?
                .compile_matcher();
            let split: (Vec<T>, Vec<T>) = tenants.into_iter().partition(|t| glob.is_match(id(t)));
            if split.0.is_empty() {
                bail!(
                    "--canary-tenants {pattern:?} matches none of the {selected} selected tenants: fix the glob (`schema-sync tenants` lists the ids), or use --canary N"
                );
            }
            split
        }
    };
    let mut result = Vec::new();
    if canary.is_some() {
        result.push(Wave {
            number: 0,
            canary: true,
            tenants: canaries,
        });
    }
    let Some(spec) = waves else {
        if !rest.is_empty() {
            result.push(Wave {
                number: 1,
                canary: false,
                tenants: rest,
            });
        }
        return Ok(result);
    };
    let total = rest.len();
    let mut ends = Vec::with_capacity(spec.0.len());
    for (i, boundary) in spec.0.iter().enumerate() {
        let covers = boundary.covers(total).min(total);
        if let Some(&(before, previous)) = ends.last()
            && covers < previous
        {
            bail!(
                "--waves: wave {} ends at {boundary} ({covers} of {total} tenants), before wave {} ends at {before} ({previous} tenants): boundaries are cumulative and must increase",
                i + 1,
                i,
            );
        }
        ends.push((*boundary, covers));
    }
    if let Some(&(last, covers)) = ends.last()
        && covers < total
    {
        bail!(
            "--waves: the last wave ends at {last}, which covers {covers} of the {total} tenants{}; end --waves with 100% so that every tenant is in a wave",
            if canary.is_some() {
                " left after the canary"
            } else {
                ""
            }
        );
    }
    let mut rest = rest.into_iter();
    let mut taken = 0;
    for (i, (_, covers)) in ends.into_iter().enumerate() {
        let tenants: Vec<T> = rest.by_ref().take(covers.saturating_sub(taken)).collect();
        taken = taken.max(covers);
        result.push(Wave {
            number: u32::try_from(i + 1).unwrap_or(u32::MAX),
            canary: false,
            tenants,
        });
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> WaveSpec {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("t{i:03}")).collect()
    }

    /// Wave numbers and sizes of `assign` over `n` tenants.
    fn sizes(n: usize, canary: Option<Canary>, waves: Option<&str>) -> Vec<(u32, usize)> {
        let waves = waves.map(spec);
        assign(names(n), |t| t.as_str(), canary.as_ref(), waves.as_ref())
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|w| (w.number, w.tenants.len()))
            .collect()
    }

    fn error(n: usize, canary: Option<Canary>, waves: Option<&str>) -> String {
        let waves = waves.map(spec);
        match assign(names(n), |t| t.as_str(), canary.as_ref(), waves.as_ref()) {
            Ok(w) => panic!("expected an error, got {} waves", w.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_counts_and_percentages() {
        assert_eq!(
            spec("1, 10%,100%").boundaries(),
            [
                Boundary::Count(1),
                Boundary::Percent(10),
                Boundary::Percent(100)
            ]
        );
        assert_eq!(spec("5").boundaries(), [Boundary::Count(5)]);
    }

    #[test]
    fn rejects_malformed_waves_with_the_fix() {
        let err = |text: &str| WaveSpec::from_str(text).err().unwrap_or_default();
        assert_eq!(
            err("1,,100%"),
            "wave 2 (\"\") is empty; write cumulative boundaries such as 1,10%,100%"
        );
        assert_eq!(
            err("0,100%"),
            "wave 1 (\"0\") covers no tenant: a count starts at 1; write cumulative boundaries such as 1,10%,100%"
        );
        assert_eq!(
            err("10%,150%"),
            "wave 2 (\"150%\") is not a percentage from 1% to 100%; write cumulative boundaries such as 1,10%,100%"
        );
        assert_eq!(
            err("2.5%"),
            "wave 1 (\"2.5%\") is not a whole percentage; write cumulative boundaries such as 1,10%,100%"
        );
        assert_eq!(
            err("ten"),
            "wave 1 (\"ten\") is neither a tenant count nor a percentage; write cumulative boundaries such as 1,10%,100%"
        );
        assert_eq!(
            err("50%,10%"),
            "wave 2 ends at 10%, not after 50%: boundaries are cumulative and must increase, as in 1,10%,100%"
        );
        assert_eq!(
            err("5,1%,5,100%"),
            "wave 3 ends at 5, not after 5: boundaries are cumulative and must increase, as in 1,10%,100%"
        );
    }

    #[test]
    fn splits_at_cumulative_boundaries() {
        assert_eq!(
            sizes(200, None, Some("1,10%,100%")),
            [(1, 1), (2, 19), (3, 180)]
        );
        // Percentages round up: 10% of 5 is one tenant, already in wave 1.
        assert_eq!(sizes(5, None, Some("1,10%,100%")), [(1, 1), (2, 0), (3, 4)]);
        // A count past the fleet is capped.
        assert_eq!(sizes(3, None, Some("2,10,100%")), [(1, 2), (2, 1), (3, 0)]);
        assert_eq!(sizes(3, None, Some("3")), [(1, 3)]);
    }

    #[test]
    fn waves_keep_the_selection_order() {
        let waves = assign(names(4), |t| t.as_str(), None, Some(&spec("1,50%,100%")))
            .unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<Vec<&str>> = waves
            .iter()
            .map(|w| w.tenants.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(ids, [vec!["t001"], vec!["t002"], vec!["t003", "t004"]]);
    }

    #[test]
    fn the_canary_is_wave_zero_and_waves_split_the_rest() {
        assert_eq!(sizes(10, Some(Canary::First(2)), None), [(0, 2), (1, 8)]);
        assert_eq!(
            sizes(10, Some(Canary::First(2)), Some("50%,100%")),
            [(0, 2), (1, 4), (2, 4)]
        );
        // Every tenant a canary: nothing after it.
        assert_eq!(sizes(3, Some(Canary::First(5)), None), [(0, 3)]);
        let waves = assign(
            names(5),
            |t| t.as_str(),
            Some(&Canary::Matching("t00[24]".into())),
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(waves[0].tenants, ["t002", "t004"]);
        assert!(waves[0].canary);
        assert_eq!(waves[1].tenants, ["t001", "t003", "t005"]);
    }

    #[test]
    fn rejects_what_only_the_fleet_can_tell() {
        assert_eq!(
            error(10, None, Some("1,10%")),
            "--waves: the last wave ends at 10%, which covers 1 of the 10 tenants; end --waves with 100% so that every tenant is in a wave"
        );
        assert_eq!(
            error(10, Some(Canary::First(1)), Some("5")),
            "--waves: the last wave ends at 5, which covers 5 of the 9 tenants left after the canary; end --waves with 100% so that every tenant is in a wave"
        );
        assert_eq!(
            error(100, None, Some("20,10%,100%")),
            "--waves: wave 2 ends at 10% (10 of 100 tenants), before wave 1 ends at 20 (20 tenants): boundaries are cumulative and must increase"
        );
        assert_eq!(
            error(3, Some(Canary::Matching("x*".into())), None),
            "--canary-tenants \"x*\" matches none of the 3 selected tenants: fix the glob (`schema-sync tenants` lists the ids), or use --canary N"
        );
        assert_eq!(
            error(3, Some(Canary::First(0)), None),
            "--canary 0 names no canary tenant: give at least 1, or leave --canary out"
        );
    }
}
