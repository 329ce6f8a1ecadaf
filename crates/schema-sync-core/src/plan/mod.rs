//! Plans: ordered operations that turn a live schema into the target.

mod apply;
mod classify;
mod data_check;
mod model;
mod operation;
mod planner;
mod shared;

pub use apply::ApplyError;
pub use data_check::{CountQuery, DataCheck, Finding, Naming, count_queries};
pub use model::{Algorithm, Hazard, MigrationPlan, PlanStep, RenderedStatement};
pub use operation::{ColumnPlacement, CommentTarget, Operation};
pub use planner::{DefaultPlanner, Planner};
pub use shared::ScriptPart;
