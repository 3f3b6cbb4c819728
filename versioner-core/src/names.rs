//! Names people type (products, environments, rules) that cannot be spoofed.
//!
//! Two names are the same name when they are equal after Unicode NFKC normalization and
//! lower-casing (`Production`, `ＰＲＯＤＵＣＴＩＯＮ` and `production` are one environment). A new
//! name is refused when it carries control or invisible formatting characters (zero-width
//! spaces, direction overrides), when it mixes scripts beyond what UTS #39 calls "highly
//! restrictive" (`producti\u{43e}n` with a Cyrillic `о`), or when it is confusable with an
//! existing name (the same UTS #39 skeleton, such as `pr0duction` next to `production`): the
//! error names the existing one. Skeletons flag look-alikes; they are never used as identity.

use unicode_normalization::UnicodeNormalization;
use unicode_security::{RestrictionLevel, RestrictionLevelDetection};

use crate::error::{Error, Result};

/// The form two names are compared in: NFKC, then lower case. ASCII is its own NFKC form,
/// so an ASCII name (nearly every name) is only lower-cased.
pub(crate) fn key(name: &str) -> String {
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    name.nfkc().collect::<String>().to_lowercase()
}

/// Whether two names are the same name.
pub(crate) fn same(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a == b || key(a) == key(b)
}

/// The UTS #39 skeleton of a name's key: equal skeletons look alike.
fn skeleton(name: &str) -> String {
    // Lower-cased again: the tables map `0` to `O`, which must meet the key's `o`.
    unicode_security::skeleton(&key(name))
        .collect::<String>()
        .to_lowercase()
}

/// Characters no name may hold: controls and invisible formatting (general category Cf).
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// Checks a name about to be created: no control or invisible characters, no mixing of
/// scripts that makes a look-alike.
///
/// # Errors
/// `INVALID_INPUT` naming `field`.
pub(crate) fn check_new(field: &str, name: &str) -> Result<()> {
    if let Some(c) = name.chars().find(|c| invisible(*c)) {
        return Err(Error::invalid(
            field,
            format!(
                "`{}` contains the invisible or control character U+{:04X}; names must be what they look like",
                name.escape_debug(),
                u32::from(c)
            ),
        ));
    }
    // Scripts are judged on the letters and digits: spaces and punctuation belong to none.
    let letters: String = key(name).chars().filter(|c| c.is_alphanumeric()).collect();
    if letters.detect_restriction_level() > RestrictionLevel::HighlyRestrictive {
        return Err(Error::invalid(
            field,
            format!(
                "`{}` mixes writing systems (for example a Cyrillic letter among Latin ones), which makes look-alikes; write it in one script",
                name.escape_debug()
            ),
        ));
    }
    Ok(())
}

/// What a given name means among existing ones: the existing record it is the same name as,
/// or none (a new name), or an error when it only looks like one.
///
/// # Errors
/// `INVALID_INPUT` naming `field` and the existing name it is confusable with.
pub(crate) fn resolve<T>(
    field: &str,
    given: &str,
    existing: impl IntoIterator<Item = (String, T)>,
) -> Result<Option<T>> {
    let wanted = key(given);
    let look = skeleton(given);
    let mut lookalike: Option<String> = None;
    for (name, record) in existing {
        if name == given || key(&name) == wanted {
            return Ok(Some(record));
        }
        if lookalike.is_none() && skeleton(&name) == look {
            lookalike = Some(name);
        }
    }
    match lookalike {
        Some(name) => Err(Error::invalid(
            field,
            format!(
                "`{}` looks like the existing `{name}` but is a different name; use `{name}`, or a name that cannot be mistaken for it",
                given.escape_debug()
            ),
        )),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn case_and_compatibility_forms_are_the_same_name() {
        assert!(same("Production", "production"));
        assert!(same("ＰＲＯＤＵＣＴＩＯＮ", "production"));
        assert!(same("ﬁle", "file"));
        assert!(!same("prod", "production"));
    }

    #[test]
    fn invisible_characters_and_mixed_scripts_are_refused() {
        for bad in [
            "production\u{200b}",
            "pro\u{202e}duction",
            "a\u{7}b",
            "prod\u{feff}",
        ] {
            let err = check_new("environment_name", bad).unwrap_err();
            assert_eq!(err.field(), Some("environment_name"), "{bad:?}");
            assert!(err.to_string().contains("invisible"), "{err}");
        }
        let err = check_new("environment_name", "producti\u{43e}n").unwrap_err();
        assert!(err.to_string().contains("mixes writing systems"), "{err}");
        for good in [
            "production",
            "prod-eu",
            "Staging 2",
            "продакшн",
            "本番",
            "qa_lab.1",
        ] {
            assert!(check_new("environment_name", good).is_ok(), "{good}");
        }
    }

    #[test]
    fn look_alikes_of_existing_names_are_refused_naming_them() {
        let existing = || vec![("production".to_string(), 1), ("staging".to_string(), 2)];
        assert_eq!(resolve("e", "Production", existing()).unwrap(), Some(1));
        assert_eq!(resolve("e", "staging", existing()).unwrap(), Some(2));
        assert_eq!(resolve("e", "qa", existing()).unwrap(), None);
        for spoof in ["pr0duction", "pr\u{3bf}duction", "producti\u{43e}n"] {
            let err = resolve("environment_name", spoof, existing()).unwrap_err();
            assert!(err.to_string().contains("`production`"), "{spoof}: {err}");
        }
    }

    proptest! {
        /// Any name equals itself in every compatibility and case form, and a name accepted as
        /// new is never refused as a look-alike of itself.
        #[test]
        fn a_name_is_always_the_same_as_its_own_forms(name in "\\PC{1,20}") {
            prop_assert!(same(&name, &name.to_uppercase()) || name.to_uppercase().to_lowercase() != name.to_lowercase());
            prop_assert!(same(&name, &name.nfkc().collect::<String>()));
            prop_assert_eq!(resolve("x", &name, vec![(name.clone(), ())]).unwrap(), Some(()));
        }

        /// The ASCII shortcut decides exactly as the full form does: NFKC then lower case.
        #[test]
        fn the_ascii_shortcut_is_the_full_form(
            a in "[ -~]{0,12}|\\PC{0,12}",
            b in "[ -~]{0,12}|\\PC{0,12}",
        ) {
            let full = |n: &str| n.nfkc().collect::<String>().to_lowercase();
            prop_assert_eq!(key(&a), full(&a));
            prop_assert_eq!(same(&a, &b), full(&a) == full(&b));
            let upper = a.to_ascii_uppercase();
            prop_assert_eq!(same(&a, &upper), full(&a) == full(&upper));
        }
    }
}
