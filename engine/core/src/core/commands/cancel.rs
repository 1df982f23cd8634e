use crate::core::run::Run;
use crate::error::Result;
use crate::events::{Event, NotificationPurpose};

/// The public status of a cancelled request, unless its workflow declares this status itself
/// (then its labels and its `sms` setting apply).
pub const CANCELLED: &str = "cancelled";
/// Its Persian label.
pub const CANCELLED_FA: &str = "لغو شد";
/// Its English label.
pub const CANCELLED_EN: &str = "Cancelled";

pub(crate) fn handle(run: &mut Run<'_>, reason: &str) -> Result<()> {
    run.cancel_all_timers();
    // The applicant is told: public tracking shows the cancellation, and one SMS says it (the
    // command is refused once the request has ended, so a second cancel sends none).
    if run.state.status.as_deref() != Some(CANCELLED) {
        run.emit(Event::StatusChanged {
            from: run.state.status.clone(),
            to: CANCELLED.to_owned(),
        });
        tell_applicant(run);
    }
    run.emit(Event::InstanceCancelled {
        reason: reason.to_owned(),
    });
    Ok(())
}

/// The cancellation SMS: the workflow's own for a declared `cancelled` status, else a text of
/// daftar's in Persian and English. A request with no applicant mobile number gets none; an
/// SMS that cannot be rendered does not stop the cancellation.
fn tell_applicant(run: &mut Run<'_>) {
    let purpose = NotificationPurpose::StatusChanged {
        status: CANCELLED.to_owned(),
    };
    if let Some(declared) = run.workflow().statuses.get(CANCELLED) {
        if let Some(template) = declared.sms_template() {
            let _ = run.notify(template, None, purpose, Vec::new());
        }
        return;
    }
    let Some(recipient) = run.applicant_recipient() else {
        return;
    };
    let code = run.state.tracking_code.clone();
    let text = format!(
        "درخواست {code}: {CANCELLED_FA}. Request {code}: {}.",
        CANCELLED_EN.to_lowercase()
    );
    run.request_sms(purpose, CANCELLED, recipient, text);
}
