//! Where a value comes from: a non-blank flag, then its `VERSIONER_*` variable, then the config
//! file, then CI auto-detection, then the default.
//!
//! The config file is `--config FILE`, else `config.yaml` (or `.yml`) in the Versioner home
//! directory when it exists — never the current directory, so a repository cannot plant
//! credentials or a server address. The home directory is `VERSIONER_HOME`, else
//! `~/.versioner`; it also holds `versioner.db`, the database used when nothing names one. The
//! file is flat YAML whose keys are the variables' names without the prefix, in lower
//! case:
//!
//! ```yaml
//! api_url: http://versioner.internal:8000
//! api_key: sk_vr_…          # better: VERSIONER_API_KEY from the CI's secret store
//! product: checkout
//! fail_on_api_error: false
//! extra_metadata: { team: payments }
//! ```

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use versioner_core::ci::{self, CiInfo};

/// The environment, as a lookup (the process environment in the binary, a map in tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A loaded config file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigFile {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    values: Map<String, Value>,
}

impl ConfigFile {
    /// Reads `explicit`, else `config.yaml` or `config.yml` in the [`versioner_home`] when
    /// present.
    ///
    /// # Errors
    /// A message when the explicit file is missing or any file is not a YAML mapping.
    pub fn load(explicit: Option<&Path>, env: Env<'_>) -> Result<ConfigFile, String> {
        let path = match explicit {
            Some(p) => {
                if !p.is_file() {
                    return Err(format!("config file `{}` does not exist", p.display()));
                }
                Some(p.to_path_buf())
            }
            None => versioner_home(env).and_then(|h| {
                ["config.yaml", "config.yml"]
                    .iter()
                    .map(|n| h.join(n))
                    .find(|p| p.is_file())
            }),
        };
        let Some(path) = path else {
            return Ok(ConfigFile::default());
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read config file `{}`: {e}", path.display()))?;
        let values = match serde_norway::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => m,
            Ok(Value::Null) => Map::new(),
            Ok(_) => {
                return Err(format!(
                    "config file `{}` must be a mapping of keys to values",
                    path.display()
                ));
            }
            Err(e) => {
                return Err(format!(
                    "config file `{}` is not valid YAML: {e}",
                    path.display()
                ));
            }
        };
        Ok(ConfigFile {
            path: Some(path),
            values,
        })
    }

    /// The file's keys that no command reads (a typo such as `api-url` or `prodct`), sorted.
    pub fn unknown_keys(&self) -> Vec<&str> {
        self.values
            .keys()
            .map(String::as_str)
            .filter(|k| !CONFIG_KEYS.contains(k))
            .collect()
    }

    /// A scalar value as text (numbers and booleans as written).
    pub fn get(&self, key: &str) -> Option<String> {
        match self.values.get(key)? {
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A value as parsed (for `extra_metadata`, which may be a mapping).
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.values.get(key).filter(|v| !v.is_null())
    }
}

/// The keys a config file may hold: the `VERSIONER_*` variables' names without the prefix, in
/// lower case.
pub const CONFIG_KEYS: &[&str] = &[
    "db",
    "database_url",
    "api_url",
    "api_key",
    "actor",
    "product",
    "version",
    "environment",
    "status",
    "source_system",
    "build_number",
    "scm_sha",
    "scm_branch",
    "scm_repository",
    "build_url",
    "deploy_url",
    "invoke_id",
    "built_by",
    "built_by_email",
    "built_by_name",
    "deployed_by",
    "deployed_by_email",
    "deployed_by_name",
    "started_at",
    "completed_at",
    "extra_metadata",
    "fail_on_api_error",
];

/// The Versioner home directory: `VERSIONER_HOME`, else `.versioner` in the user's home
/// (`HOME`, else `USERPROFILE`); `None` when none of them is set.
pub fn versioner_home(env: Env<'_>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    set("VERSIONER_HOME").map(PathBuf::from).or_else(|| {
        set("HOME")
            .or_else(|| set("USERPROFILE"))
            .map(|h| PathBuf::from(h).join(".versioner"))
    })
}

/// The database recorded into when no flag, variable or config file names a backend:
/// `versioner.db` in the [`versioner_home`].
pub fn default_database(env: Env<'_>) -> Option<PathBuf> {
    versioner_home(env).map(|h| h.join(DEFAULT_DATABASE))
}

/// The default database's file name, in the Versioner home directory.
pub const DEFAULT_DATABASE: &str = "versioner.db";

/// Everything a command's values can come from.
pub struct Sources<'a> {
    env: Env<'a>,
    /// The config file.
    pub config: ConfigFile,
    /// What CI auto-detection found.
    pub ci: CiInfo,
}

impl std::fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("config", &self.config.path)
            .field("ci", &self.ci.system)
            .finish_non_exhaustive()
    }
}

impl<'a> Sources<'a> {
    /// The database used when nothing names a backend (see [`default_database`]).
    pub fn default_database(&self) -> Option<PathBuf> {
        default_database(self.env)
    }

    /// Reads the config file and detects the CI system from `env`.
    ///
    /// # Errors
    /// As [`ConfigFile::load`].
    pub fn load(config: Option<&Path>, env: Env<'a>) -> Result<Sources<'a>, String> {
        Ok(Sources {
            env,
            config: ConfigFile::load(config, env)?,
            ci: ci::detect_with(env),
        })
    }

    /// A variable, `None` when unset or blank.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.env)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// `VERSIONER_<KEY>` then the config file's `key`.
    pub fn configured(&self, key: &str) -> Option<String> {
        self.var(&format!("VERSIONER_{}", key.to_ascii_uppercase()))
            .or_else(|| self.config.get(key))
    }

    /// A non-blank flag, else [`Sources::configured`].
    pub fn pick(&self, flag: Option<&str>, key: &str) -> Option<String> {
        flag.map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .or_else(|| self.configured(key))
    }

    /// Like [`Sources::pick`], falling back to a CI-detected value.
    pub fn pick_or_ci(&self, flag: Option<&str>, key: &str, ci: Option<&String>) -> Option<String> {
        self.pick(flag, key).or_else(|| ci.cloned())
    }

    /// The user's `extra_metadata` (flag, variable or config; a JSON object text, or a mapping
    /// in the config file), merged over the CI's `vi_*` keys (user keys win). `None` when
    /// both are empty.
    ///
    /// # Errors
    /// A message when it is not a JSON object or exceeds 100 KB.
    pub fn metadata(&self, flag: Option<&str>) -> Result<Option<Value>, String> {
        let user: Option<Map<String, Value>> = match self.pick(flag, "extra_metadata") {
            Some(text) => {
                if text.len() > versioner_core::MAX_METADATA_BYTES {
                    return Err(format!(
                        "--extra-metadata is {} bytes; the limit is {} bytes (100 KB)",
                        text.len(),
                        versioner_core::MAX_METADATA_BYTES
                    ));
                }
                match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(m)) => Some(m),
                    Ok(_) => {
                        return Err(
                            "--extra-metadata must be a JSON object, e.g. '{\"team\":\"core\"}'"
                                .into(),
                        );
                    }
                    Err(e) => return Err(format!("--extra-metadata is not valid JSON: {e}")),
                }
            }
            None => match self.config.value("extra_metadata") {
                Some(Value::Object(m)) => Some(m.clone()),
                Some(_) | None => None,
            },
        };
        let merged = ci::merge_metadata(&self.ci.metadata, user.as_ref());
        Ok((!merged.is_empty()).then_some(Value::Object(merged)))
    }

    /// Whether `GITHUB_ACTIONS=true`.
    pub fn in_github_actions(&self) -> bool {
        self.var("GITHUB_ACTIONS").as_deref() == Some("true")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn flag_beats_variable_beats_config_beats_ci() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.yaml");
        std::fs::write(&cfg, "product: from-config\nversion: 7\n").unwrap();
        let env = env_of(&[
            ("VERSIONER_PRODUCT", "from-env"),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "o/from-ci"),
        ]);
        let s = Sources::load(Some(&cfg), &env).unwrap();
        let ci = s.ci.product.clone();
        assert_eq!(
            s.pick_or_ci(Some("flag"), "product", ci.as_ref())
                .as_deref(),
            Some("flag")
        );
        assert_eq!(
            s.pick_or_ci(Some("  "), "product", ci.as_ref()).as_deref(),
            Some("from-env")
        );
        assert_eq!(s.pick_or_ci(None, "version", None).as_deref(), Some("7"));
        let env = env_of(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "o/from-ci"),
        ]);
        let s = Sources::load(None, &env).unwrap();
        let ci = s.ci.product.clone();
        assert_eq!(
            s.pick_or_ci(None, "product", ci.as_ref()).as_deref(),
            Some("from-ci")
        );
    }

    #[test]
    fn the_config_file_comes_from_home_never_the_current_directory() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".versioner")).unwrap();
        std::fs::write(
            home.path().join(".versioner/config.yaml"),
            "api_url: http://h:1\n",
        )
        .unwrap();
        let h = home.path().to_string_lossy().to_string();
        let env = env_of(&[("HOME", &h)]);
        let s = Sources::load(None, &env).unwrap();
        assert_eq!(s.configured("api_url").as_deref(), Some("http://h:1"));
        let empty = tempfile::tempdir().unwrap();
        let e = empty.path().to_string_lossy().to_string();
        let env = env_of(&[("HOME", &e)]);
        assert_eq!(Sources::load(None, &env).unwrap().config.path, None);
        let missing = Path::new("/nonexistent/versioner.yaml");
        assert!(
            ConfigFile::load(Some(missing), &env)
                .unwrap_err()
                .contains("does not exist")
        );
    }

    #[test]
    fn unknown_config_keys_are_listed_and_known_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.yaml");
        std::fs::write(
            &cfg,
            "api-url: http://x\nproduct: a\nprodct: b\nfail_on_api_error: false\n",
        )
        .unwrap();
        let env = env_of(&[]);
        let s = Sources::load(Some(&cfg), &env).unwrap();
        assert_eq!(s.config.unknown_keys(), vec!["api-url", "prodct"]);
        // Every key a command reads is known.
        for key in CONFIG_KEYS {
            assert!(!key.contains('-'), "{key}");
        }
    }

    #[test]
    fn versioner_home_moves_the_config_file_and_the_default_database() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path().to_string_lossy().to_string();
        let env = env_of(&[("HOME", &h)]);
        assert_eq!(
            default_database(&env),
            Some(home.path().join(".versioner").join("versioner.db"))
        );
        let moved = tempfile::tempdir().unwrap();
        std::fs::write(moved.path().join("config.yml"), "product: moved\n").unwrap();
        let m = moved.path().to_string_lossy().to_string();
        let env = env_of(&[("HOME", &h), ("VERSIONER_HOME", &m)]);
        assert_eq!(
            default_database(&env),
            Some(moved.path().join("versioner.db"))
        );
        let s = Sources::load(None, &env).unwrap();
        assert_eq!(s.configured("product").as_deref(), Some("moved"));
        let env = env_of(&[("HOME", "  ")]);
        assert_eq!(default_database(&env), None);
    }

    #[test]
    fn metadata_merges_user_keys_over_ci_keys() {
        let env = env_of(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_WORKFLOW", "ci"),
            ("GITHUB_JOB", "build"),
        ]);
        let s = Sources::load(None, &env).unwrap();
        let m = s
            .metadata(Some(r#"{"vi_gh_job":"mine","team":"core"}"#))
            .unwrap()
            .unwrap();
        assert_eq!(m["vi_gh_workflow"], "ci");
        assert_eq!(m["vi_gh_job"], "mine");
        assert_eq!(m["team"], "core");
        assert!(s.metadata(Some("[1]")).unwrap_err().contains("JSON object"));
        assert!(
            s.metadata(Some("{nope"))
                .unwrap_err()
                .contains("not valid JSON")
        );
        let none = env_of(&[]);
        assert_eq!(
            Sources::load(None, &none).unwrap().metadata(None).unwrap(),
            None
        );
    }
}
