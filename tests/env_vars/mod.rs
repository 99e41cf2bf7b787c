//! An environment for `TracerBuilder::from_lookup`, from literal pairs.

/// Looks a variable up in `vars`; when a name repeats, the last pair wins.
pub fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |k| {
        vars.iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}
