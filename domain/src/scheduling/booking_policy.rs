use serde::{Deserialize, Serialize};

/// When booking opens and closes, and what cancelling late or not showing up costs.
/// Fixed when the class is scheduled (from its class type or the request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingPolicy {
    /// Booking opens this many hours before the start (1..=8760).
    #[schema(minimum = 1, maximum = 8760)]
    pub opens_hours_before: u32,
    /// Booking closes this many minutes before the start (at most 7 days, and before
    /// booking opens).
    #[schema(maximum = 10080)]
    pub closes_minutes_before: u32,
    /// Cancelling later than this many hours before the start is a late cancel (≤ 336).
    #[schema(maximum = 336)]
    pub free_cancel_hours_before: u32,
    /// Waitlisted clients are promoted into freed spots until this many minutes before
    /// the start; after that the spot stays open (≤ 10080).
    #[schema(maximum = 10080)]
    pub promotion_cutoff_minutes: u32,
    /// A late cancel counts as a strike.
    pub late_cancel_strike: bool,
    /// A no-show counts as a strike.
    pub no_show_strike: bool,
}

impl Default for BookingPolicy {
    fn default() -> Self {
        Self {
            opens_hours_before: 14 * 24,
            closes_minutes_before: 0,
            free_cancel_hours_before: 12,
            promotion_cutoff_minutes: 60,
            late_cancel_strike: true,
            no_show_strike: true,
        }
    }
}

impl BookingPolicy {
    /// The policy a class or class type gets when it sets none: the studio's booking
    /// window and cancellation cutoff, the rest defaulted.
    pub fn from_settings(settings: &crate::studio::StudioSettings) -> Self {
        Self {
            opens_hours_before: settings.booking_window_days * 24,
            free_cancel_hours_before: settings.cancellation_cutoff_hours,
            ..Self::default()
        }
    }

    /// Bounds that keep every derived instant meaningful; `Err((field, why))`.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=365 * 24).contains(&self.opens_hours_before) {
            return Err(("policy.opens_hours_before", "1..=8760 hours".to_owned()));
        }
        if self.closes_minutes_before > 7 * 24 * 60
            || u64::from(self.closes_minutes_before) >= u64::from(self.opens_hours_before) * 60
        {
            return Err((
                "policy.closes_minutes_before",
                "at most 7 days, and before booking opens".to_owned(),
            ));
        }
        if self.free_cancel_hours_before > 14 * 24 {
            return Err((
                "policy.free_cancel_hours_before",
                "0..=336 hours".to_owned(),
            ));
        }
        if self.promotion_cutoff_minutes > 7 * 24 * 60 {
            return Err((
                "policy.promotion_cutoff_minutes",
                "0..=10080 minutes".to_owned(),
            ));
        }
        Ok(())
    }
}
