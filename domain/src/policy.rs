//! Who may do what: the one place that answers "may this actor do this action on this
//! resource". Every API handler asks [`decide`]; nothing else checks roles.
//!
//! Rules are a role × action matrix ([`rule`]); some cells depend on the actor's
//! relation to the resource (it is their own client record, or they are a trainer
//! assigned to it). The README's role matrix is generated from this table
//! ([`matrix_markdown`]) and a test keeps the two equal.

use serde::{Deserialize, Serialize};

/// A member's role in one studio. A person may hold different roles in different
/// studios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Trainer,
    FrontDesk,
    Client,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Trainer,
        Role::FrontDesk,
        Role::Client,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Trainer => "trainer",
            Role::FrontDesk => "front_desk",
            Role::Client => "client",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Everything the API lets someone do inside a studio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read the studio, its locations and settings.
    ViewStudio,
    /// Rename the studio, change settings, add and rename locations.
    ManageStudio,
    /// List members and pending invitations.
    ViewMembers,
    /// Add, invite, change the role of and remove members.
    ManageMembers,
    /// Read the audit log.
    ViewAudit,
    /// Read client records (without health fields unless [`Action::ViewClientHealth`]).
    ViewClient,
    /// Create client records, edit profiles.
    ManageClients,
    /// Assign trainers to a client record and unassign them. An assignment lets the
    /// trainer see the client's health fields, so only roles that see them may grant it.
    AssignTrainers,
    /// Record a client's health intake.
    RecordHealth,
    /// See a client's health and medical fields.
    ViewClientHealth,
    /// See the calendar and classes.
    ViewSchedule,
    /// Create classes and series; cancel classes, change capacity or instructor.
    ManageSchedule,
    /// Book or cancel a spot for a client record.
    Book,
    /// See a class roster and check clients in.
    ManageAttendance,
    /// Publish a trainer's availability and time off (trainers: their own).
    ManageAvailability,
    /// Book, move or cancel a 1:1 appointment (trainers: on their own calendar; clients:
    /// for their own record).
    BookAppointment,
    /// Register, change, rotate, disable and delete webhook endpoints; read their
    /// delivery log and redeliver. Endpoints receive client data, so only the roles that
    /// decide where the studio's data goes manage them.
    ManageWebhooks,
}

impl Action {
    pub const ALL: [Action; 17] = [
        Action::ViewStudio,
        Action::ManageStudio,
        Action::ViewMembers,
        Action::ManageMembers,
        Action::ViewAudit,
        Action::ViewClient,
        Action::ManageClients,
        Action::AssignTrainers,
        Action::RecordHealth,
        Action::ViewClientHealth,
        Action::ViewSchedule,
        Action::ManageSchedule,
        Action::Book,
        Action::ManageAttendance,
        Action::ManageAvailability,
        Action::BookAppointment,
        Action::ManageWebhooks,
    ];

    fn describe(self) -> &'static str {
        match self {
            Action::ViewStudio => "view studio, locations, settings",
            Action::ManageStudio => "rename studio, change settings, add/rename locations",
            Action::ViewMembers => "list members and invitations",
            Action::ManageMembers => "add, invite, change role, remove members",
            Action::ViewAudit => "read the audit log",
            Action::ViewClient => "read client records",
            Action::ManageClients => "create clients, edit profiles",
            Action::AssignTrainers => "assign trainers to a client (lets them see health)",
            Action::RecordHealth => "record a client's health intake",
            Action::ViewClientHealth => "see health and medical fields",
            Action::ViewSchedule => "see the calendar and classes",
            Action::ManageSchedule => {
                "define class types, create classes and series, cancel, change capacity/instructor"
            }
            Action::Book => "book or cancel a spot for a client",
            Action::ManageAttendance => "see rosters, check clients in",
            Action::ManageAvailability => "publish a trainer's availability and time off",
            Action::BookAppointment => "book, move or cancel a 1:1 appointment",
            Action::ManageWebhooks => "manage webhook endpoints, read their deliveries",
        }
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Allow,
    Deny,
    /// Only on the actor's own client record.
    Own,
    /// Only on client records the actor (a trainer) is assigned to.
    Assigned,
}

/// How the actor relates to the resource at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relation {
    /// The resource is the actor's own: their client record, or (for availability and
    /// appointments) their own calendar.
    pub own_record: bool,
    /// The actor is a trainer assigned to the client record.
    pub assigned_trainer: bool,
}

/// The matrix.
pub fn rule(role: Role, action: Action) -> Rule {
    use Action::*;
    use Role::*;
    use Rule::{Allow, Assigned, Deny, Own};
    match (action, role) {
        (ViewStudio, Owner | Admin | Trainer | FrontDesk | Client) => Allow,
        (ManageStudio | ManageMembers | ViewAudit, Owner | Admin) => Allow,
        (ManageStudio | ManageMembers | ViewAudit, Trainer | FrontDesk | Client) => Deny,
        (ViewMembers, Owner | Admin | Trainer | FrontDesk) => Allow,
        (ViewMembers, Client) => Deny,
        (ViewClient, Owner | Admin | Trainer | FrontDesk) => Allow,
        (ViewClient, Client) => Own,
        (ManageClients, Owner | Admin | FrontDesk) => Allow,
        (ManageClients, Trainer | Client) => Deny,
        (AssignTrainers, Owner | Admin) => Allow,
        (AssignTrainers, Trainer | FrontDesk | Client) => Deny,
        (RecordHealth | ViewClientHealth, Owner | Admin) => Allow,
        (RecordHealth | ViewClientHealth, Trainer) => Assigned,
        (RecordHealth | ViewClientHealth, FrontDesk) => Deny,
        (RecordHealth | ViewClientHealth, Client) => Own,
        (ViewSchedule, Owner | Admin | Trainer | FrontDesk | Client) => Allow,
        (ManageSchedule, Owner | Admin | FrontDesk) => Allow,
        (ManageSchedule, Trainer | Client) => Deny,
        (Book, Owner | Admin | FrontDesk) => Allow,
        (Book, Trainer) => Deny,
        (Book, Client) => Own,
        (ManageAttendance, Owner | Admin | Trainer | FrontDesk) => Allow,
        (ManageAttendance, Client) => Deny,
        (ManageAvailability, Owner | Admin) => Allow,
        (ManageAvailability, Trainer) => Own,
        (ManageAvailability, FrontDesk | Client) => Deny,
        (BookAppointment, Owner | Admin | FrontDesk) => Allow,
        (BookAppointment, Trainer | Client) => Own,
        (ManageWebhooks, Owner | Admin) => Allow,
        (ManageWebhooks, Trainer | FrontDesk | Client) => Deny,
    }
}

/// Who may teach classes and take 1:1 appointments: trainers, and the owners and admins
/// who teach in their own studios.
pub fn may_teach(role: Role) -> bool {
    match role {
        Role::Owner | Role::Admin | Role::Trainer => true,
        Role::FrontDesk | Role::Client => false,
    }
}

/// May `role` do `action` given `relation`?
pub fn decide(role: Role, action: Action, relation: Relation) -> bool {
    match rule(role, action) {
        Rule::Allow => true,
        Rule::Deny => false,
        Rule::Own => relation.own_record,
        Rule::Assigned => relation.assigned_trainer,
    }
}

/// Only owners may make someone an owner or change an owner's role.
pub fn may_grant(granter: Role, from: Option<Role>, to: Role) -> bool {
    decide(granter, Action::ManageMembers, Relation::default())
        && (granter == Role::Owner || (to != Role::Owner && from != Some(Role::Owner)))
}

/// The matrix as the Markdown table in the README.
pub fn matrix_markdown() -> String {
    let mut out = String::from("| action | owner | admin | trainer | front_desk | client |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for action in Action::ALL {
        out.push_str(&format!("| {} |", action.describe()));
        for role in Role::ALL {
            let cell = match rule(role, action) {
                Rule::Allow => "✓",
                Rule::Deny => "–",
                Rule::Own if action == Action::ManageAvailability => "own calendar",
                Rule::Own if action == Action::BookAppointment && role == Role::Trainer => {
                    "own calendar"
                }
                Rule::Own => "own record",
                Rule::Assigned => "assigned clients",
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owners_and_admins_manage_the_studio_and_its_members() {
        for role in Role::ALL {
            let expected = matches!(role, Role::Owner | Role::Admin);
            assert_eq!(
                decide(role, Action::ManageStudio, Relation::default()),
                expected
            );
            assert_eq!(
                decide(role, Action::ManageMembers, Relation::default()),
                expected
            );
            assert_eq!(
                decide(role, Action::ViewAudit, Relation::default()),
                expected
            );
            assert_eq!(
                decide(role, Action::ManageWebhooks, Relation::default()),
                expected
            );
        }
    }

    #[test]
    fn health_fields_follow_the_relationship() {
        let none = Relation::default();
        let own = Relation {
            own_record: true,
            ..none
        };
        let assigned = Relation {
            assigned_trainer: true,
            ..none
        };
        assert!(decide(Role::Admin, Action::ViewClientHealth, none));
        assert!(!decide(Role::Trainer, Action::ViewClientHealth, none));
        assert!(decide(Role::Trainer, Action::ViewClientHealth, assigned));
        assert!(!decide(Role::FrontDesk, Action::ViewClientHealth, assigned));
        assert!(decide(Role::Client, Action::ViewClientHealth, own));
        assert!(!decide(Role::Client, Action::ViewClientHealth, none));
    }

    #[test]
    fn only_owners_grant_or_revoke_ownership() {
        assert!(may_grant(Role::Owner, Some(Role::Trainer), Role::Owner));
        assert!(!may_grant(Role::Admin, Some(Role::Trainer), Role::Owner));
        assert!(!may_grant(Role::Admin, Some(Role::Owner), Role::Admin));
        assert!(may_grant(Role::Admin, None, Role::Trainer));
        assert!(!may_grant(Role::Trainer, None, Role::Client));
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
