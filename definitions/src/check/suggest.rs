//! "Did you mean …?" for names that are almost right.

/// The candidate closest to `name`, when it is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= limit && *c != name)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `; did you mean `x`?` or nothing.
pub(crate) fn hint<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// The [`hint`] for a name read where `vars` are set and `more` are provided.
pub(crate) fn hint_among(
    name: &str,
    vars: &std::collections::BTreeSet<String>,
    more: &[&'static str],
) -> String {
    hint(
        name,
        vars.iter().map(String::as_str).chain(more.iter().copied()),
    )
}

/// A list of names for a message, such as "`a`, `b` and `c`".
pub(crate) fn list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    match names.as_slice() {
        [] => "none".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typos_only() {
        assert_eq!(closest("nxt", ["next", "id", "status"]), Some("next"));
        assert_eq!(closest("inqury", ["inquiry", "notify"]), Some("inquiry"));
        assert_eq!(closest("banana", ["next", "id"]), None);
        assert_eq!(list(["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
