//! Connector names, operations and fields, against the connector catalog.

use super::Finding;
use super::data::analyze;
use super::index::StepIndex;
use super::suggest::{hint, list};
use crate::Options;
use crate::catalog::ConnectorKind;
use crate::diagnostic::Code;
use crate::model::Workflow;
use crate::source::Pointer;

pub(crate) fn check(
    wf: &Workflow,
    index: &StepIndex,
    options: Options<'_>,
    out: &mut Vec<Finding>,
) {
    let uses_connectors = (0..index.places().len()).any(|p| {
        let s = index.step(wf, p);
        s.inquiry.is_some() || s.payment.is_some()
    });
    let Some(catalog) = options.catalog else {
        if uses_connectors {
            let msg = "no connector catalog was given, so connector and operation names were not checked; pass `--connectors FILE` or put a connectors.yaml beside the definitions";
            out.push(Finding::new(Code::NoCatalog, Pointer::root(), msg));
        }
        return;
    };
    let names = || catalog.connectors.keys().map(String::as_str);
    for (pi, place) in index.places().iter().enumerate() {
        let step = index.step(wf, pi);
        if let Some(call) = &step.call
            && let Some(known) = options.workflows
            && !known.contains(&call.workflow)
        {
            let msg = format!(
                "workflow `{}` was not validated with this one{}; validate them together to check the call",
                call.workflow,
                hint(&call.workflow, known.iter().map(String::as_str))
            );
            out.push(Finding::new(
                Code::UnknownWorkflow,
                place.pointer.key("call").key("workflow"),
                msg,
            ));
        }
        if let Some(p) = &step.payment {
            let at = place.pointer.key("payment").key("connector");
            match catalog.connectors.get(&p.connector) {
                None => {
                    let msg = format!(
                        "there is no connector `{}` in the catalog{}",
                        p.connector,
                        hint(&p.connector, names())
                    );
                    out.push(Finding::new(Code::UnknownConnector, at, msg));
                }
                Some(c) if c.kind != ConnectorKind::Payment => {
                    let msg = format!("connector `{}` is not a payment gateway", p.connector);
                    out.push(Finding::new(Code::UnknownConnector, at, msg));
                }
                Some(_) => {}
            }
        }
        let Some(inq) = &step.inquiry else { continue };
        let at = place.pointer.key("inquiry");
        let Some(connector) = catalog.connectors.get(&inq.connector) else {
            let msg = format!(
                "there is no connector `{}` in the catalog{}",
                inq.connector,
                hint(&inq.connector, names())
            );
            out.push(Finding::new(
                Code::UnknownConnector,
                at.key("connector"),
                msg,
            ));
            continue;
        };
        if connector.kind != ConnectorKind::Inquiry {
            let msg = format!("connector `{}` is not an inquiry service", inq.connector);
            out.push(Finding::new(
                Code::UnknownConnector,
                at.key("connector"),
                msg,
            ));
            continue;
        }
        let ops = || connector.operations.keys().map(String::as_str);
        let Some(op) = connector.operations.get(&inq.operation) else {
            let msg = format!(
                "connector `{}` has no operation `{}`{}; it has {}",
                inq.connector,
                inq.operation,
                hint(&inq.operation, ops()),
                list(ops())
            );
            out.push(Finding::new(
                Code::UnknownOperation,
                at.key("operation"),
                msg,
            ));
            continue;
        };
        let fields = || op.input.iter().chain(&op.optional).map(String::as_str);
        for required in &op.input {
            if !inq.input.contains_key(required) {
                let msg = format!(
                    "`{}.{}` needs the input field `{required}`",
                    inq.connector, inq.operation
                );
                out.push(Finding::new(Code::ConnectorMapping, at.key("input"), msg));
            }
        }
        for given in inq.input.keys() {
            if !fields().any(|f| f == given) {
                let msg = format!(
                    "`{}.{}` takes no field `{given}`{}; it takes {}",
                    inq.connector,
                    inq.operation,
                    hint(given, fields()),
                    list(fields())
                );
                out.push(
                    Finding::new(Code::ConnectorMapping, at.key("input").key(given), msg).at_key(),
                );
            }
        }
        if !op.output.is_empty() {
            for (var, expr) in &inq.output {
                let Ok(reads) = analyze(expr.as_str()) else {
                    continue;
                };
                // A plain read of a field that may be null sets a null variable, which is
                // fine; computing with it (`first_name + ' ' + last_name`) fails the step
                // when the agency answers null, unless the expression guards it.
                let plain = expr.as_str().trim().starts_with("response.")
                    && expr.as_str().trim()[9..]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_');
                let guarded = ["?", "has(", "null"]
                    .iter()
                    .any(|g| expr.as_str().contains(g));
                let mut unguarded: Vec<&str> = reads
                    .iter()
                    .filter(|r| r.root == "response")
                    .filter_map(|r| r.field.as_deref())
                    .filter(|f| op.nullable.iter().any(|n| n == f))
                    .collect();
                unguarded.dedup();
                if !plain && !guarded && !unguarded.is_empty() {
                    let named: Vec<String> =
                        unguarded.iter().map(|f| format!("response.{f}")).collect();
                    let msg = format!(
                        "`{}` computes with {} of `{}.{}`, which an ordinary answer may leave null (an unknown applicant, say), and the step would stop on an incident; guard it, such as `response.matched ? … : ''`",
                        expr,
                        list(named.iter().map(String::as_str)),
                        inq.connector,
                        inq.operation
                    );
                    out.push(Finding::new(
                        Code::UnguardedNull,
                        at.key("output").key(var),
                        msg,
                    ));
                }
                for read in reads {
                    if read.root == "response"
                        && let Some(field) = &read.field
                        && !op.output.contains(field)
                    {
                        let msg = format!(
                            "`{}.{}` answers with no field `{field}`{}; it answers with {}",
                            inq.connector,
                            inq.operation,
                            hint(field, op.output.iter().map(String::as_str)),
                            list(op.output.iter().map(String::as_str))
                        );
                        out.push(Finding::new(
                            Code::ConnectorMapping,
                            at.key("output").key(var),
                            msg,
                        ));
                    }
                }
            }
        }
        match (op.callback, inq.callback.is_some()) {
            (true, false) => {
                let msg = format!(
                    "`{}.{}` answers by callback; add `callback:` with a `timeout` so the step waits for the answer",
                    inq.connector, inq.operation
                );
                out.push(Finding::new(Code::ConnectorMapping, at.clone(), msg));
            }
            (false, true) => {
                let msg = format!(
                    "`{}.{}` answers at once; it never calls back",
                    inq.connector, inq.operation
                );
                out.push(Finding::new(Code::ConnectorMapping, at.key("callback"), msg).at_key());
            }
            _ => {}
        }
    }
}
