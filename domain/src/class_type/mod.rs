//! Class types: a studio's catalogue of what it teaches ("Reformer Flow, 50 min, 10
//! spots, book up to 14 days ahead, free cancel until 12 h before"). A class scheduled
//! from a type takes its title, duration, capacity and booking policy from it, copied
//! into the class when it is scheduled: changing a type later never rewrites the rules
//! clients booked under.

mod aggregate;
mod commands;
mod error;
mod events;
#[cfg(test)]
mod tests;
pub mod view;

pub use aggregate::ClassType;
pub use commands::ClassTypeCommand;
pub use error::ClassTypeError;
pub use events::{ClassTypeDetails, ClassTypeEvent};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct ClassTypeId(pub Uuid);
