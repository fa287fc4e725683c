//! Badges and learning goals.

mod badges;
mod goal_fields;
mod goals;
mod streaks;
pub mod support;
