//! The simulated world: people, addresses, deeds, passports, agriculture files, business
//! licences, asset holdings and payment outcomes, read from a seed YAML file
//! (`examples/simulator/seed.yaml`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::PaymentOutcome;

/// Everything the agencies know.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Seed {
    pub people: Vec<Person>,
    pub addresses: Vec<Address>,
    pub deeds: Vec<Deed>,
    pub passports: Vec<Passport>,
    pub agriculture: Vec<LandFile>,
    pub business_licences: Vec<Licence>,
    pub holdings: Vec<Holdings>,
    /// Payment outcomes by amount in rials, for payments that name no payer.
    pub payments: Vec<PaymentRule>,
}

/// A person in the civil registry, with what the other agencies know about them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub national_id: String,
    pub first_name: String,
    pub last_name: String,
    pub father_name: String,
    /// `male` or `female`.
    pub gender: String,
    /// `YYYY-MM-DD` (Gregorian).
    pub birth_date: String,
    #[serde(default = "yes")]
    pub alive: bool,
    /// The mobile numbers registered to this person in Shahkar.
    #[serde(default)]
    pub mobiles: Vec<String>,
    #[serde(default)]
    pub criminal_record: bool,
    #[serde(default)]
    pub military: Option<Military>,
    #[serde(default)]
    pub tax: Option<Tax>,
    /// How this person's payments end when they are named as payer.
    #[serde(default)]
    pub payment: Option<PaymentOutcome>,
    /// What this person is in the seed for (documentation only).
    #[serde(default)]
    pub note: String,
}

fn yes() -> bool {
    true
}

/// Military-service status (وضعیت نظام وظیفه).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Military {
    /// `completed`, `exempt`, `student`, `holdout` (غایب), `not_applicable`.
    pub status: String,
    pub can_leave_country: bool,
    #[serde(default)]
    pub exit_permit_required: bool,
}

/// Tax standing.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tax {
    pub cleared: bool,
    #[serde(default)]
    pub outstanding_debt: u64,
}

/// An address by postal code, with its zoning and electricity network.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub postal_code: String,
    pub province: String,
    pub city: String,
    pub locality: String,
    pub street: String,
    pub building_number: String,
    #[serde(default)]
    pub floor: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    /// The detailed plan's rules for the parcel: `municipal_region`, `zone`, `usage`,
    /// `max_floors`, `max_density`, `street_widening`. No zoning → `404`.
    #[serde(default)]
    pub zoning: Option<Value>,
    #[serde(default)]
    pub network_extension_required: bool,
}

/// A registered deed (سند).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deed {
    pub serial: String,
    pub owners: Vec<String>,
    #[serde(default = "whole")]
    pub ownership_share: f64,
    pub registration_plate: String,
    pub land_area: f64,
    pub usage: String,
    #[serde(default)]
    pub seized: bool,
    #[serde(default)]
    pub mortgaged: bool,
}

fn whole() -> f64 {
    1.0
}

/// A passport on record.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Passport {
    pub passport_number: String,
    pub national_id: String,
    /// `YYYY-MM-DD`.
    pub expires_on: String,
    #[serde(default)]
    pub exit_ban: bool,
    #[serde(default = "yes")]
    pub eligible: bool,
    pub fee_amount: u64,
}

/// What Agriculture Jihad finds about a parcel.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandFile {
    pub registration_plate: String,
    pub land_eligible: bool,
    #[serde(default)]
    pub inspection_required: bool,
    pub fee_amount: u64,
    #[serde(default)]
    pub rejection_reason: Option<String>,
}

/// A business licence in the labour ministry's register.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Licence {
    pub licence_type: String,
    pub licence_number: String,
    pub holder_national_id: String,
    pub holder_name: String,
    pub holder_mobile: String,
    /// Days from the simulator's start until the licence expires.
    pub expires_in_days: i64,
}

/// What a debtor holds, for the asset freeze.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Holdings {
    pub national_id: String,
    pub bank_balance: u64,
    pub bank_accounts: u64,
    pub property_plates: Vec<String>,
    pub securities_value: u64,
    pub securities_holdings: u64,
    pub vehicle_plates: Vec<String>,
    /// Callback connectors that never answer for this debtor (to drive timeout paths).
    pub silent: Vec<String>,
}

/// A payment outcome for an amount.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRule {
    pub amount: u64,
    pub status: PaymentOutcome,
    #[serde(default)]
    pub note: String,
}

impl Seed {
    /// Reads a seed from YAML.
    pub fn from_yaml(text: &str) -> anyhow::Result<Self> {
        crate::from_yaml(text)
    }

    pub fn person(&self, national_id: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.national_id == national_id)
    }

    pub fn address(&self, postal_code: &str) -> Option<&Address> {
        self.addresses.iter().find(|a| a.postal_code == postal_code)
    }

    pub fn deed(&self, serial: &str) -> Option<&Deed> {
        self.deeds.iter().find(|d| d.serial == serial)
    }

    pub fn passport(&self, number: &str) -> Option<&Passport> {
        self.passports.iter().find(|p| p.passport_number == number)
    }

    pub fn land(&self, plate: &str) -> Option<&LandFile> {
        self.agriculture
            .iter()
            .find(|l| l.registration_plate == plate)
    }

    pub fn holdings(&self, national_id: &str) -> Option<&Holdings> {
        self.holdings.iter().find(|h| h.national_id == national_id)
    }
}

/// Converts a Gregorian date to the Jalali (Persian, Solar Hijri) calendar: `(year, month,
/// day)`. The conversion is ICU4X's (`icu_calendar`), the same one the engine's template
/// filters use.
///
/// # Panics
///
/// If `(gy, gm, gd)` is not a valid Gregorian date; the simulator only passes dates it got from
/// `chrono`.
pub fn to_jalali(gy: i64, gm: i64, gd: i64) -> (i64, i64, i64) {
    use icu_calendar::{Date, cal::Persian};
    let iso = i32::try_from(gy)
        .ok()
        .zip(u8::try_from(gm).ok())
        .zip(u8::try_from(gd).ok())
        .and_then(|((y, m), d)| Date::try_new_iso(y, m, d).ok())
        .unwrap_or_else(|| panic!("{gy:04}-{gm:02}-{gd:02} is not a Gregorian date"));
    let persian = iso.to_calendar(Persian);
    (
        persian.year().extended_year().into(),
        persian.month().ordinal.into(),
        persian.day_of_month().0.into(),
    )
}
