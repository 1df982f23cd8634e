use crate::core::run::Run;
use crate::core::state::Delivery;
use crate::error::{Error, Result};
use crate::events::Event;

/// What became of the SMS `reference` so far; an error when the request asked for none such.
fn delivery<'r>(run: &'r Run<'_>, reference: &str) -> Result<&'r Delivery> {
    run.state
        .notifications
        .get(reference)
        .ok_or_else(|| Error::Unknown {
            kind: "notification",
            id: reference.to_owned(),
        })
}

pub(crate) fn handle(
    run: &mut Run<'_>,
    reference: &str,
    sent: bool,
    gateway_id: Option<&String>,
    reason: Option<&String>,
) -> Result<()> {
    match delivery(run, reference)? {
        Delivery::Pending => {
            run.emit(if sent {
                Event::NotificationSent {
                    reference: reference.to_owned(),
                    gateway_id: gateway_id.cloned(),
                }
            } else {
                Event::NotificationFailed {
                    reference: reference.to_owned(),
                    reason: reason.cloned().unwrap_or_else(|| "refused".to_owned()),
                }
            });
            Ok(())
        }
        // A second report of the same outcome changes nothing.
        _ => Ok(()),
    }
}

/// The gateway reports whether the SMS reached the phone. A repeated report changes nothing.
pub(crate) fn delivered(
    run: &mut Run<'_>,
    reference: &str,
    status: &str,
    at: Option<&String>,
) -> Result<()> {
    match delivery(run, reference)? {
        Delivery::Delivered | Delivery::Undelivered => Ok(()),
        _ => {
            run.emit(Event::NotificationDelivered {
                reference: reference.to_owned(),
                status: status.to_owned(),
                at: at.cloned(),
            });
            Ok(())
        }
    }
}
