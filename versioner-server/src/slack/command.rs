//! What a slash command's text asks for: `/versioner <subcommand> [arguments]`.

/// One slash command, parsed from its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `help`, or no text: what the commands are.
    Help,
    /// `status [product]`: the state matrix, or one product's row.
    Status {
        /// Only this product.
        product: Option<String>,
    },
    /// `history PRODUCT [ENV]`: the newest deployments.
    History {
        /// The product.
        product: String,
        /// Only this environment.
        environment: Option<String>,
    },
    /// `check PRODUCT VERSION ENV`: would the deployment pass its preflight now (a dry run)?
    Check {
        /// The product.
        product: String,
        /// The version.
        version: String,
        /// The target environment.
        environment: String,
    },
    /// `approvals`: the Deployment Requests with slots the caller may fill.
    Approvals,
    /// `approve REQUEST_ID APPROVAL_TYPE [comment]`: fills a slot (mapped users only).
    Approve {
        /// The Deployment Request's id.
        request: String,
        /// The slot's approval type.
        approval_type: String,
        /// An optional comment.
        comment: Option<String>,
    },
    /// `reject REQUEST_ID APPROVAL_TYPE comment`: rejects a slot (mapped users only).
    Reject {
        /// The Deployment Request's id.
        request: String,
        /// The slot's approval type.
        approval_type: String,
        /// Why (required).
        comment: String,
    },
}

/// The commands, one a line, for help and usage errors.
pub const USAGE: &str = "\
`/versioner status [PRODUCT]`: what is deployed where
`/versioner history PRODUCT [ENVIRONMENT]`: the newest deployments
`/versioner check PRODUCT VERSION ENVIRONMENT`: would this deployment pass its preflight now?
`/versioner approvals`: the Deployment Requests awaiting your approval
`/versioner approve REQUEST_ID APPROVAL_TYPE [COMMENT]`: approve a slot of a Deployment Request
`/versioner reject REQUEST_ID APPROVAL_TYPE COMMENT`: reject a slot of a Deployment Request";

/// The longest text read (Slack sends at most a few thousand characters).
const MAX_TEXT: usize = 4000;

/// Splits on whitespace; a double-quoted part may hold spaces (`"my product"`).
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    // Slack sends typographic quotes when the user's client auto-formats.
    for c in text.chars() {
        match c {
            '"' | '“' | '”' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Parses a slash command's text.
///
/// # Errors
/// A message naming what is wrong, for the user.
pub fn parse(text: &str) -> Result<Command, String> {
    if text.len() > MAX_TEXT {
        return Err(format!(
            "The command is too long ({} bytes; at most {MAX_TEXT})",
            text.len()
        ));
    }
    let w = words(text);
    let Some((first, rest)) = w.split_first() else {
        return Ok(Command::Help);
    };
    let arity = |min: usize, max: usize, usage: &str| {
        if rest.len() < min || rest.len() > max {
            Err(format!("Usage: `/versioner {usage}`"))
        } else {
            Ok(())
        }
    };
    let tail = |from: usize| {
        let t = rest[from..].join(" ");
        (!t.trim().is_empty()).then_some(t)
    };
    match first.to_lowercase().as_str() {
        "help" => Ok(Command::Help),
        "status" => {
            arity(0, 1, "status [PRODUCT]")?;
            Ok(Command::Status {
                product: rest.first().cloned(),
            })
        }
        "history" => {
            arity(1, 2, "history PRODUCT [ENVIRONMENT]")?;
            Ok(Command::History {
                product: rest[0].clone(),
                environment: rest.get(1).cloned(),
            })
        }
        "check" => {
            arity(3, 3, "check PRODUCT VERSION ENVIRONMENT")?;
            Ok(Command::Check {
                product: rest[0].clone(),
                version: rest[1].clone(),
                environment: rest[2].clone(),
            })
        }
        "approvals" => {
            arity(0, 0, "approvals")?;
            Ok(Command::Approvals)
        }
        "approve" => {
            arity(2, usize::MAX, "approve REQUEST_ID APPROVAL_TYPE [COMMENT]")?;
            Ok(Command::Approve {
                request: rest[0].clone(),
                approval_type: rest[1].clone(),
                comment: tail(2),
            })
        }
        "reject" => {
            arity(3, usize::MAX, "reject REQUEST_ID APPROVAL_TYPE COMMENT")?;
            Ok(Command::Reject {
                request: rest[0].clone(),
                approval_type: rest[1].clone(),
                comment: tail(2).unwrap_or_default(),
            })
        }
        other => Err(format!("Unknown command `{}`.", other.replace('`', "'"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(parse("").unwrap(), Command::Help);
        assert_eq!(parse("  help ").unwrap(), Command::Help);
        assert_eq!(parse("status").unwrap(), Command::Status { product: None });
        assert_eq!(
            parse("STATUS \"my api\"").unwrap(),
            Command::Status {
                product: Some("my api".into())
            }
        );
        assert_eq!(
            parse("history api production").unwrap(),
            Command::History {
                product: "api".into(),
                environment: Some("production".into())
            }
        );
        assert_eq!(
            parse("check api 1.2.3 production").unwrap(),
            Command::Check {
                product: "api".into(),
                version: "1.2.3".into(),
                environment: "production".into()
            }
        );
        assert_eq!(parse("approvals").unwrap(), Command::Approvals);
        assert_eq!(
            parse("approve dr_1 qa looks   good").unwrap(),
            Command::Approve {
                request: "dr_1".into(),
                approval_type: "qa".into(),
                comment: Some("looks good".into())
            }
        );
        assert_eq!(
            parse("reject dr_1 qa broken login").unwrap(),
            Command::Reject {
                request: "dr_1".into(),
                approval_type: "qa".into(),
                comment: "broken login".into()
            }
        );
    }

    #[test]
    fn usage_errors() {
        assert_eq!(
            parse("check api 1.2.3").unwrap_err(),
            "Usage: `/versioner check PRODUCT VERSION ENVIRONMENT`"
        );
        assert_eq!(
            parse("history").unwrap_err(),
            "Usage: `/versioner history PRODUCT [ENVIRONMENT]`"
        );
        assert_eq!(
            parse("reject dr_1 qa").unwrap_err(),
            "Usage: `/versioner reject REQUEST_ID APPROVAL_TYPE COMMENT`"
        );
        assert_eq!(
            parse("deploy `x`").unwrap_err(),
            "Unknown command `deploy`."
        );
        assert!(parse(&"a".repeat(5000)).unwrap_err().contains("too long"));
    }

    proptest::proptest! {
        /// Any text parses to a command or a message: never a panic.
        #[test]
        fn any_text_is_answered(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }
    }
}
