//! HTTP routes, one module per resource; each exposes `router() -> OpenApiRouter<AppState>`.

pub mod audit;
pub mod auth;
pub mod class_types;
pub mod classes;
pub mod clients;
pub mod health;
pub mod members;
pub mod studios;
pub mod trainers;
