//! Subscriptions of national follow-up systems (Rasad, the national service window, an
//! agency's own portal) to the status changes of an agency's requests, and their delivery log.
//!
//! The events table is the outbox: a status change is an event, written in the same commit as
//! the transition itself, so it cannot be lost or sent for a transition that was not made. A
//! subscription keeps a **position**: every event of the log at or before it has been
//! delivered (or did not concern it). Delivering moves it forward; a replay moves it back.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::dialect::{Json, JsonText, Ts, shared};
use super::rows::db;
use super::sql::SqlStore;

/// A receiver of an agency's status changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The agency whose requests it follows.
    pub agency: String,
    /// Its id.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// The CloudEvents types it wants; empty: all.
    pub types: Vec<String>,
    /// The services (workflow ids) it follows; empty: all.
    pub services: Vec<String>,
    /// The Standard Webhooks secret (`whsec_` and base64) deliveries are signed with.
    pub secret: String,
    /// Every event at or before this log position has been delivered or skipped.
    pub position: u64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// One attempt to deliver one event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// The event's log position.
    pub position: u64,
    /// The CloudEvent id (the same on every attempt, for the receiver to drop repeats).
    pub event_id: String,
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// Where subscriptions and their delivery log are kept.
#[async_trait]
pub trait Subscriptions: Send + Sync {
    /// Keeps a new subscription.
    async fn add_subscription(&self, s: &Subscription) -> Result<(), StoreError>;

    /// The subscriptions of an agency (every agency's when `None`), oldest first.
    async fn subscriptions(&self, agency: Option<&str>) -> Result<Vec<Subscription>, StoreError>;

    /// Removes a subscription and its log; whether there was one.
    async fn remove_subscription(&self, agency: &str, id: &str) -> Result<bool, StoreError>;

    /// Sets a subscription's position (forward after deliveries, back for a replay); whether
    /// there was one.
    async fn move_subscription(
        &self,
        agency: &str,
        id: &str,
        position: u64,
    ) -> Result<bool, StoreError>;

    /// Takes or renews `node`'s lease on a subscription until `until`, unless another node
    /// holds a lease that runs past `now`: the subscription's position then, or `None` (held
    /// elsewhere, or no such subscription). One node at a time delivers a subscription, so
    /// the nodes of a shared store do not each send every event.
    async fn lease_subscription(
        &self,
        agency: &str,
        id: &str,
        node: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError>;

    /// Moves a subscription `node` holds forward from `from` to `to`, after its deliveries;
    /// false (and nothing changes) when its lease went to another node or its position moved
    /// meanwhile, as a replay moves it, so that neither is overwritten.
    async fn advance_subscription(
        &self,
        agency: &str,
        id: &str,
        node: &str,
        from: u64,
        to: u64,
    ) -> Result<bool, StoreError>;

    /// Records an attempt.
    async fn log_delivery(
        &self,
        agency: &str,
        subscription: &str,
        attempt: &DeliveryAttempt,
    ) -> Result<(), StoreError>;

    /// A subscription's latest attempts, newest first.
    async fn deliveries(
        &self,
        agency: &str,
        subscription: &str,
        limit: u32,
    ) -> Result<Vec<DeliveryAttempt>, StoreError>;
}

type SubscriptionTuple = (String, String, String, JsonText, JsonText, String, i64, Ts);

fn list(text: &JsonText) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(&text.0)
        .map_err(|e| StoreError::Database(format!("a subscription's list: {e}")))
}

fn position(p: u64) -> i64 {
    i64::try_from(p).unwrap_or(i64::MAX)
}

shared! {
#[async_trait]
impl Subscriptions for SqlStore {
    async fn add_subscription(&self, s: &Subscription) -> Result<(), StoreError> {
        let types = serde_json::to_string(&s.types).unwrap_or_default();
        let services = serde_json::to_string(&s.services).unwrap_or_default();
        sqlx::query(
            "INSERT INTO subscriptions (agency, id, url, types, services, secret, position, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.agency)
        .bind(&s.id)
        .bind(&s.url)
        .bind(Json(&types))
        .bind(Json(&services))
        .bind(&s.secret)
        .bind(position(s.position))
        .bind(Ts(s.created_at))
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn subscriptions(&self, agency: Option<&str>) -> Result<Vec<Subscription>, StoreError> {
        let rows: Vec<SubscriptionTuple> = sqlx::query_as(
            "SELECT agency, id, url, types, services, secret, position, created_at \
             FROM subscriptions WHERE ($1 IS NULL OR agency = $1) ORDER BY created_at, id",
        )
        .bind(agency)
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(agency, id, url, types, services, secret, position, created)| {
                Ok(Subscription {
                    agency,
                    id,
                    url,
                    types: list(&types)?,
                    services: list(&services)?,
                    secret,
                    position: u64::try_from(position).unwrap_or(0),
                    created_at: created.0,
                })
            })
            .collect()
    }

    async fn remove_subscription(&self, agency: &str, id: &str) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM deliveries WHERE agency = $1 AND subscription = $2")
            .bind(agency)
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        let done: Option<(String,)> =
            sqlx::query_as("DELETE FROM subscriptions WHERE agency = $1 AND id = $2 RETURNING id")
                .bind(agency)
                .bind(id)
                .fetch_optional(&self.writer)
                .await
                .map_err(db)?;
        Ok(done.is_some())
    }

    async fn move_subscription(
        &self,
        agency: &str,
        id: &str,
        to: u64,
    ) -> Result<bool, StoreError> {
        let done: Option<(String,)> = sqlx::query_as(
            "UPDATE subscriptions SET position = $1 WHERE agency = $2 AND id = $3 RETURNING id",
        )
        .bind(position(to))
        .bind(agency)
        .bind(id)
        .fetch_optional(&self.writer)
        .await
        .map_err(db)?;
        Ok(done.is_some())
    }

    async fn lease_subscription(
        &self,
        agency: &str,
        id: &str,
        node: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let leased: Option<(i64,)> = sqlx::query_as(
            "UPDATE subscriptions SET lease_owner = $1, lease_until = $2 \
             WHERE agency = $3 AND id = $4 \
             AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until <= $5) \
             RETURNING position",
        )
        .bind(node)
        .bind(Ts(until))
        .bind(agency)
        .bind(id)
        .bind(Ts(now))
        .fetch_optional(&self.writer)
        .await
        .map_err(db)?;
        Ok(leased.map(|(p,)| u64::try_from(p).unwrap_or(0)))
    }

    async fn advance_subscription(
        &self,
        agency: &str,
        id: &str,
        node: &str,
        from: u64,
        to: u64,
    ) -> Result<bool, StoreError> {
        let done: Option<(String,)> = sqlx::query_as(
            "UPDATE subscriptions SET position = $1 \
             WHERE agency = $2 AND id = $3 AND lease_owner = $4 AND position = $5 RETURNING id",
        )
        .bind(position(to))
        .bind(agency)
        .bind(id)
        .bind(node)
        .bind(position(from))
        .fetch_optional(&self.writer)
        .await
        .map_err(db)?;
        Ok(done.is_some())
    }

    async fn log_delivery(
        &self,
        agency: &str,
        subscription: &str,
        a: &DeliveryAttempt,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO deliveries (agency, subscription, position, event_id, at, status, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(agency)
        .bind(subscription)
        .bind(position(a.position))
        .bind(&a.event_id)
        .bind(Ts(a.at))
        .bind(a.status.map_or(0, i64::from))
        .bind(a.error.as_deref())
        .execute(&self.writer)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn deliveries(
        &self,
        agency: &str,
        subscription: &str,
        limit: u32,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let rows: Vec<(i64, String, Ts, i64, Option<String>)> = sqlx::query_as(
            "SELECT position, event_id, at, status, error FROM deliveries \
             WHERE agency = $1 AND subscription = $2 ORDER BY at DESC, position DESC LIMIT $3",
        )
        .bind(agency)
        .bind(subscription)
        .bind(i64::from(limit))
        .fetch_all(&self.reads)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(position, event_id, at, status, error)| DeliveryAttempt {
                position: u64::try_from(position).unwrap_or(0),
                event_id,
                at: at.0,
                status: u16::try_from(status).ok().filter(|s| *s != 0),
                error,
            })
            .collect())
    }
}
}
