//! Tagged references in prompts: a person writes `@Maya` for the cast member Maya; providers
//! that number their references instead (`<IMAGE_0>`) get the prompt with each tag replaced.

use crate::providers::ReferenceFile;

/// `prompt` with every `@tag` of a tagged reference replaced by `name(index)`, its index among
/// `references` (in order). A tag is matched whole (`@Maya` but not `@Mayan`), longest first.
pub fn numbered(prompt: &str, references: &[&ReferenceFile], name: impl Fn(usize) -> String) -> String {
    let mut tags: Vec<(usize, &str)> = references.iter().enumerate().filter_map(|(i, r)| r.tag.as_deref().map(|t| (i, t))).collect();
    tags.sort_by_key(|(_, t)| std::cmp::Reverse(t.len()));
    let mut out = String::with_capacity(prompt.len());
    let mut rest = prompt;
    'scan: while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        for (i, tag) in &tags {
            let whole = after.get(..tag.len()).is_some_and(|s| s.eq_ignore_ascii_case(tag))
                && !after[tag.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
            if whole {
                out.push_str(&name(*i));
                rest = &after[tag.len()..];
                continue 'scan;
            }
        }
        out.push('@');
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::ReferenceRole;

    fn tagged(tag: Option<&str>) -> ReferenceFile {
        ReferenceFile {
            role: ReferenceRole::Reference,
            content_type: "image/png".into(),
            bytes: Default::default(),
            tag: tag.map(String::from),
        }
    }

    #[test]
    fn tags_become_numbers_whole_words_only() {
        let (maya, cap, plain, maya2) = (tagged(Some("Maya")), tagged(Some("red_cap")), tagged(None), tagged(Some("Maya_2")));
        let refs = [&maya, &plain, &cap, &maya2];
        let prompt = "@Maya in the @red_cap, seen as @Maya_2; @Mayan and me@example.com stay";
        assert_eq!(
            numbered(prompt, &refs, |i| format!("<IMAGE_{i}>")),
            "<IMAGE_0> in the <IMAGE_2>, seen as <IMAGE_3>; @Mayan and me@example.com stay"
        );
        assert_eq!(numbered("no tags @", &refs, |i| i.to_string()), "no tags @");
    }
}
