//! Plans: ordered operations that turn a live schema into the target.

mod apply;
mod classify;
mod model;
mod operation;
mod planner;

pub use apply::ApplyError;
pub use model::{Hazard, MigrationPlan, PlanStep, RenderedStatement};
pub use operation::{ColumnPlacement, CommentTarget, Operation};
pub use planner::{DefaultPlanner, Planner};
