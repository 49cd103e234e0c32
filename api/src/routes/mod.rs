//! HTTP routes, one module per resource or sub-resource; each exposes
//! `router() -> OpenApiRouter<AppState>`.
//!
//! This module holds what several route modules need: path parameters they share
//! ([`StudioPath`], [`ClassPath`], [`BookingPath`], [`TrainerPath`]), the read parameters
//! ([`ReadParams`]), the command reply ([`Accepted`], [`accepted`]) and the one list shape
//! ([`Page`] with its [`PageParams`] extractor). Route modules import from here (and from
//! the rest of the crate, e.g. [`crate::application`]), never from each other (the test
//! below reads their sources to make sure).

use std::borrow::Cow;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Uri;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr, Required, Schema};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::AppQuery;

pub mod account_links;
pub mod appointments;
pub mod attendance;
pub mod audit;
pub mod auth;
pub mod bookings;
pub mod class_types;
pub mod classes;
pub mod clients;
pub mod health;
pub mod inbox;
pub mod members;
pub mod notification_preferences;
pub mod schedules;
pub mod studios;
pub mod trainer_calendars;
pub mod webhooks;

/// Every `/api/v1` route: one line per route module.
pub fn v1() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    studios::router()
        .merge(auth::router())
        .merge(account_links::router())
        .merge(members::router())
        .merge(clients::router())
        .merge(audit::router())
        .merge(class_types::router())
        .merge(classes::router())
        .merge(schedules::router())
        .merge(bookings::router())
        .merge(attendance::router())
        .merge(trainer_calendars::router())
        .merge(appointments::router())
        .merge(inbox::router())
        .merge(notification_preferences::router())
        .merge(webhooks::router())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudioPath {
    pub studio_id: Uuid,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassPath {
    pub studio_id: Uuid,
    pub class_id: Uuid,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingPath {
    pub studio_id: Uuid,
    pub class_id: Uuid,
    pub booking_id: Uuid,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainerPath {
    pub studio_id: Uuid,
    pub trainer_id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReadParams {
    /// Wait (a few seconds at most) until the view reflects at least this version.
    pub min_version: Option<u64>,
}

pub use crate::reply::{accepted, Accepted};

/// The reason a cancellation gives the booked clients: 1..=200 characters, trimmed.
pub fn cancel_reason(raw: &str) -> Result<&str, ApiError> {
    let reason = raw.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(ApiError::invalid_field("reason", "1..=200 characters"));
    }
    Ok(reason)
}

/// One page of a list, in the list's order. Every list answers this shape.
#[derive(Debug, Serialize, Deserialize)]
pub struct Page<T, C = Uuid> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_after: Option<C>,
}

impl<T, C> Page<T, C> {
    /// The page from the rows a query fetched in the list's order, at most
    /// [`PageParams::fetch`] of them: the one row past `limit` only tells that there is
    /// more, and `cursor` names the last row kept.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, cursor: impl FnOnce(&T) -> C) -> Self {
        let limit = limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_after = if more { rows.last().map(cursor) } else { None };
        Self {
            items: rows,
            next_after,
        }
    }

    /// The same page with its items converted (the cursor stays what the rows said).
    pub fn map_items<U>(self, f: impl FnOnce(Vec<T>) -> Vec<U>) -> Page<U, C> {
        Page {
            items: f(self.items),
            next_after: self.next_after,
        }
    }
}

/// A type lists page by: how `after` and `next_after` are documented.
pub trait Cursor {
    const TYPE: Type;
    const FORMAT: KnownFormat;
}

impl Cursor for Uuid {
    const TYPE: Type = Type::String;
    const FORMAT: KnownFormat = KnownFormat::Uuid;
}

impl Cursor for i64 {
    const TYPE: Type = Type::Integer;
    const FORMAT: KnownFormat = KnownFormat::Int64;
}

fn cursor_schema<C: Cursor>(nullable: bool) -> ObjectBuilder {
    let schema_type = if nullable {
        SchemaType::from_iter([C::TYPE, Type::Null])
    } else {
        SchemaType::Type(C::TYPE)
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .format(Some(SchemaFormat::KnownFormat(C::FORMAT)))
}

// `Page<X>` in a handler's `body = …` goes through utoipa's support for generic schemas
// (`ComposeSchema`, which `#[derive(ToSchema)]` would implement, but the derive needs a
// schema for every type argument and `Uuid` has none). The document names it
// `Page_<item>[_<cursor>]`: `items` refers to the item's schema, `next_after` is the
// cursor.
impl<T: ToSchema, C: Cursor> utoipa::__dev::ComposeSchema for Page<T, C> {
    fn compose(_: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        ObjectBuilder::new()
            .property(
                "items",
                ArrayBuilder::new().items(Ref::from_schema_name(T::name())),
            )
            .required("items")
            .property(
                "next_after",
                cursor_schema::<C>(true).description(Some(
                    "Pass as `after` to get the next page; absent on the last page.",
                )),
            )
            .into()
    }
}

impl<T: ToSchema, C: Cursor> ToSchema for Page<T, C> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Page")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
}

/// The largest page.
pub const MAX_PAGE: u32 = 100;
/// The page size when `limit` is not given.
pub const DEFAULT_PAGE: u32 = 50;

/// The query of a list: `limit` (1..=100, default 50) and `after` (the `next_after` of
/// the previous page: continue after that item in the list's order), validated here for
/// every list. The list's own query parameters, if any, are `filter` (`F`, which refuses
/// parameters it does not know, as every query does).
#[derive(Debug)]
pub struct PageParams<C = Uuid, F = NoFilter> {
    pub limit: u32,
    pub after: Option<C>,
    pub filter: F,
}

impl<C, F> PageParams<C, F> {
    /// How many rows to fetch: one more than `limit`, to tell whether there is more.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// A list without parameters of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFilter {}

impl IntoParams for NoFilter {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        Vec::new()
    }
}

impl<S, C, F> FromRequestParts<S> for PageParams<C, F>
where
    S: Send + Sync,
    C: DeserializeOwned + Send,
    F: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        #[derive(Deserialize)]
        struct Paging<C> {
            limit: Option<u32>,
            after: Option<C>,
        }
        let AppQuery(Paging { limit, after }) =
            AppQuery::<Paging<C>>::from_request_parts(parts, state).await?;
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::InvalidQuery(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        // The rest of the query is the list's own; it is checked as strictly as any.
        let rest = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                    .filter(|(k, _)| k != "limit" && k != "after"),
            )
            .finish();
        let uri: Uri = format!("/?{rest}")
            .parse()
            .map_err(|e| ApiError::InvalidQuery(format!("{e}")))?;
        let filter = axum::extract::Query::<F>::try_from_uri(&uri)
            .map_err(|e| ApiError::InvalidQuery(e.body_text()))?
            .0;
        Ok(Self {
            limit,
            after,
            filter,
        })
    }
}

impl<C: Cursor, F: IntoParams> IntoParams for PageParams<C, F> {
    fn into_params(parameter_in_provider: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = F::into_params(parameter_in_provider);
        params.push(
            ParameterBuilder::new()
                .name("limit")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(format!(
                    "Page size, 1..={MAX_PAGE} (default {DEFAULT_PAGE})."
                )))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                        .minimum(Some(1))
                        .maximum(Some(MAX_PAGE)),
                ))
                .build(),
        );
        params.push(
            ParameterBuilder::new()
                .name("after")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "Continue after this item of the list (`next_after` of the previous page).",
                ))
                .schema(Some(cursor_schema::<C>(false)))
                .build(),
        );
        params
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// The sibling route modules `src` names through `prefix` (`routes::`, `super::`),
    /// directly (`routes::classes::X`) or in a group (`routes::{Accepted, classes::X}`).
    fn sibling_refs(src: &str, prefix: &str, modules: &BTreeSet<String>) -> Vec<String> {
        // Whitespace around `::`, braces and commas does not matter; elsewhere it
        // separates words (`use super::x`).
        let words: Vec<&str> = src.split_whitespace().collect();
        let mut src = String::new();
        for w in words {
            let glued = |c: Option<char>| c.is_some_and(|c| ":{},".contains(c));
            if !src.is_empty() && !glued(src.chars().next_back()) && !glued(w.chars().next()) {
                src.push(' ');
            }
            src.push_str(w);
        }
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        let mut found = Vec::new();
        for (at, _) in src.match_indices(prefix) {
            // `xroutes::` is not `routes::`.
            let before = src[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &src[at + prefix.len()..];
            let heads: Vec<String> = match rest.strip_prefix('{') {
                Some(group) => {
                    let (mut depth, mut end) = (1, group.len());
                    for (i, c) in group.char_indices() {
                        depth += match c {
                            '{' => 1,
                            '}' => -1,
                            _ => 0,
                        };
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    let mut heads = Vec::new();
                    let mut depth = 0;
                    let mut start = true;
                    for (i, c) in group[..end].char_indices() {
                        if start && depth == 0 {
                            heads.push(ident(&group[i..]));
                        }
                        start = false;
                        match c {
                            '{' => depth += 1,
                            '}' => depth -= 1,
                            ',' if depth == 0 => start = true,
                            _ => {}
                        }
                    }
                    heads
                }
                None => vec![ident(rest)],
            };
            found.extend(heads.into_iter().filter(|h| modules.contains(h)));
        }
        found
    }

    fn modules(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn the_scanner_sees_direct_and_grouped_imports() {
        let m = modules(&["classes", "studios"]);
        let refs = |src: &str| {
            let mut r = sibling_refs(src, "routes::", &m);
            r.extend(sibling_refs(src, "super::", &m));
            r
        };
        assert_eq!(refs("use crate::routes::studios::Accepted;"), ["studios"]);
        assert_eq!(refs("use super::classes;"), ["classes"]);
        assert_eq!(
            refs("use crate::routes::{\n    Accepted,\n    studios::{X, Y},\n};"),
            ["studios"]
        );
        assert_eq!(
            refs("crate :: routes :: classes :: current(x)"),
            ["classes"]
        );
        assert!(refs("use crate::routes::{Accepted, StudioPath};").is_empty());
        assert!(refs("use super::*; use crate::routes::{self, Page};").is_empty());
        assert!(refs("use crate::subroutes::studios;").is_empty());
        assert!(refs("use crate::routes::studios_extra::X;").is_empty());
    }

    /// Route modules share code through this module only: none names another.
    #[test]
    fn route_modules_do_not_import_each_other() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("src/routes is readable") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
        let all: BTreeSet<String> = files
            .iter()
            .filter_map(|p| p.file_stem()?.to_str().map(str::to_owned))
            .filter(|m| m != "mod")
            .collect();
        assert!(all.len() >= 10, "found only {all:?} in {}", dir.display());
        let mut offences = Vec::new();
        for path in &files {
            let own = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if own == "mod" {
                continue;
            }
            let src = std::fs::read_to_string(path).expect("a route module is readable");
            let mut others = all.clone();
            others.remove(own);
            for prefix in ["routes::", "super::"] {
                for m in sibling_refs(&src, prefix, &others) {
                    offences.push(format!("routes/{own}.rs names `{prefix}{m}`"));
                }
            }
        }
        assert!(
            offences.is_empty(),
            "route modules import shared pieces from `crate::routes` only:\n{}",
            offences.join("\n")
        );
    }
}
