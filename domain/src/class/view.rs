//! The class read model (calendar entry + roster with waitlist) as a pure function.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BookingId, BookingStatus, Class, ClassEvent, ClassId, ClassStatus};
use crate::account::AccountId;
use crate::client::ClientId;
use crate::studio::{LocationId, StudioId};
use crate::view::View;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RosterEntry {
    pub booking_id: BookingId,
    pub client_id: ClientId,
    pub status: BookingStatus,
    /// 1-based, for waitlisted bookings.
    pub waitlist_position: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClassView {
    pub id: ClassId,
    pub studio_id: StudioId,
    pub title: String,
    pub class_type_id: Option<uuid::Uuid>,
    pub schedule_id: Option<uuid::Uuid>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: u32,
    pub location_id: Option<LocationId>,
    pub instructor_id: Option<AccountId>,
    pub status: ClassStatus,
    /// Holding a spot (booked or checked in).
    pub booked: u32,
    pub waitlisted: u32,
    /// Attendance: checked in, no-shows and late cancels so far.
    pub checked_in: u32,
    #[serde(default)]
    pub no_shows: u32,
    #[serde(default)]
    pub late_cancels: u32,
    /// Every booking, in booking order.
    pub roster: Vec<RosterEntry>,
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

impl ClassView {
    fn entry(&mut self, id: BookingId) -> Option<&mut RosterEntry> {
        self.roster.iter_mut().find(|r| r.booking_id == id)
    }

    fn recount(&mut self) {
        let mut position = 0;
        let mut waitlist: Vec<&mut RosterEntry> = self
            .roster
            .iter_mut()
            .filter(|r| r.status == BookingStatus::Waitlisted)
            .collect();
        // The waitlist keeps its joining order: `waitlist_position` from the event.
        waitlist.sort_by_key(|r| r.waitlist_position.unwrap_or(u32::MAX));
        for r in waitlist {
            position += 1;
            r.waitlist_position = Some(position);
        }
        for r in &mut self.roster {
            if r.status != BookingStatus::Waitlisted {
                r.waitlist_position = None;
            }
        }
        let count = |s: &[BookingStatus]| {
            self.roster.iter().filter(|r| s.contains(&r.status)).count() as u32
        };
        self.booked = count(&[BookingStatus::Booked, BookingStatus::CheckedIn]);
        self.waitlisted = count(&[BookingStatus::Waitlisted]);
        self.checked_in = count(&[BookingStatus::CheckedIn]);
        self.no_shows = count(&[BookingStatus::NoShow]);
        self.late_cancels = count(&[BookingStatus::LateCancelled]);
    }
}

pub fn apply(
    view: Option<ClassView>,
    event: &ClassEvent,
    sequence: u64,
    at: DateTime<Utc>,
) -> Option<ClassView> {
    let mut view = match (view, event) {
        (
            None,
            ClassEvent::ClassScheduled {
                class_id,
                studio_id,
                title,
                class_type_id,
                starts_at,
                ends_at,
                capacity,
                location_id,
                instructor_id,
                schedule_id,
                ..
            },
        ) => ClassView {
            id: *class_id,
            studio_id: *studio_id,
            title: title.clone(),
            class_type_id: *class_type_id,
            schedule_id: *schedule_id,
            starts_at: *starts_at,
            ends_at: *ends_at,
            capacity: *capacity,
            location_id: *location_id,
            instructor_id: *instructor_id,
            status: ClassStatus::Scheduled,
            booked: 0,
            waitlisted: 0,
            checked_in: 0,
            no_shows: 0,
            late_cancels: 0,
            roster: Vec::new(),
            version: sequence,
            updated_at: at,
        },
        (None, _) => return None,
        (Some(mut v), event) => {
            let set = |v: &mut ClassView, id: BookingId, status: BookingStatus| {
                if let Some(e) = v.entry(id) {
                    e.status = status;
                }
            };
            match event {
                ClassEvent::ClassScheduled { .. } => {}
                ClassEvent::SpotBooked {
                    booking_id,
                    client_id,
                } => v.roster.push(RosterEntry {
                    booking_id: *booking_id,
                    client_id: *client_id,
                    status: BookingStatus::Booked,
                    waitlist_position: None,
                }),
                ClassEvent::Waitlisted {
                    booking_id,
                    client_id,
                    ..
                } => v.roster.push(RosterEntry {
                    booking_id: *booking_id,
                    client_id: *client_id,
                    status: BookingStatus::Waitlisted,
                    // Sorts after everyone already waiting; renumbered below.
                    waitlist_position: Some(u32::MAX - 1),
                }),
                ClassEvent::BookingCancelled {
                    booking_id, late, ..
                } => {
                    let status = if *late {
                        BookingStatus::LateCancelled
                    } else {
                        BookingStatus::Cancelled
                    };
                    set(&mut v, *booking_id, status);
                }
                ClassEvent::WaitlistLeft { booking_id, .. } => {
                    set(&mut v, *booking_id, BookingStatus::LeftWaitlist)
                }
                ClassEvent::WaitlistPromoted { booking_id, .. } => {
                    set(&mut v, *booking_id, BookingStatus::Booked)
                }
                ClassEvent::CheckedIn { booking_id, .. } => {
                    set(&mut v, *booking_id, BookingStatus::CheckedIn)
                }
                ClassEvent::NoShowRecorded { booking_id, .. } => {
                    set(&mut v, *booking_id, BookingStatus::NoShow)
                }
                ClassEvent::CapacityChanged { capacity } => v.capacity = *capacity,
                ClassEvent::InstructorSubstituted { instructor_id } => {
                    v.instructor_id = *instructor_id
                }
                ClassEvent::ClassCancelled { .. } => {
                    v.status = ClassStatus::Cancelled;
                    for r in &mut v.roster {
                        if matches!(
                            r.status,
                            BookingStatus::Booked
                                | BookingStatus::Waitlisted
                                | BookingStatus::CheckedIn
                        ) {
                            r.status = BookingStatus::ClassCancelled;
                        }
                    }
                }
                ClassEvent::ClassClosed => v.status = ClassStatus::Closed,
            }
            v
        }
    };
    view.recount();
    view.version = sequence;
    view.updated_at = at;
    Some(view)
}

impl View for ClassView {
    type Aggregate = Class;
    type Event = ClassEvent;
    const TABLE: &'static str = "class_view";

    fn apply(
        current: Option<Self>,
        event: &ClassEvent,
        sequence: u64,
        at: DateTime<Utc>,
    ) -> Option<Self> {
        apply(current, event, sequence, at)
    }

    fn version(&self) -> u64 {
        self.version
    }
}
