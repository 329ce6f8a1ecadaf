//! Diffs: what differs between a live schema and the target, hierarchically.

mod calculator;
mod model;
mod render;

pub use calculator::{DefaultDiffCalculator, DiffCalculator};
pub use model::*;
pub use render::column_definition;
pub(crate) use render::columns as render_columns;
