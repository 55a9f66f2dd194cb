//! Label scope: an admin confines a role or a Cognito group to label matchers (`team="records"`,
//! `env="prod"`), and every log and metric query its people send is confined on the server by
//! adding those matchers to each of its selectors. A query that cannot be confined safely is
//! refused, never sent as written.
//!
//! ```toml
//! [[label_scopes]]
//! who = "records-team"            # a Vitals role or a Cognito group
//! matchers = ['team="records"', 'env="prod"']
//! ```
//!
//! A person confined by several rules holds the matchers of all of them: each rule narrows.

pub mod logql;
pub mod promql;
#[cfg(test)]
mod properties;

use std::sync::Arc;

use serde::Deserialize;
use vitals_api::Role;

use crate::settings::InvalidSetting;
pub use logql::Matcher;

/// One rule of `[[label_scopes]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelScopeRule {
    /// A Vitals role (`engineer`) or a Cognito group (`records-team`).
    pub who: String,
    /// Label matchers, as in a selector: `team="records"`, `env=~"prod|staging"`.
    pub matchers: Vec<String>,
}

/// The matchers a person's queries are confined to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelScope {
    pub matchers: Vec<Matcher>,
    /// The matchers as written, sorted: names the scope in cache keys and messages.
    pub text: String,
}

impl LabelScope {
    fn new(mut matchers: Vec<Matcher>) -> Self {
        matchers.sort_by_key(ToString::to_string);
        matchers.dedup();
        let text = matchers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        Self { matchers, text }
    }

    /// A log query confined to the scope.
    pub fn confine_logql(&self, query: &str) -> Result<String, String> {
        logql::confine(query, &self.matchers).map_err(|why| self.refusal(&why))
    }

    /// A metric query confined to the scope.
    pub fn confine_promql(&self, query: &str) -> Result<String, String> {
        promql::confine(query, &self.matchers).map_err(|why| self.refusal(&why))
    }

    /// The values of `label` this scope fixes with `=`; `None` when it fixes none.
    pub fn values_of(&self, label: &str) -> Option<Vec<String>> {
        let values: Vec<String> = self
            .matchers
            .iter()
            .filter(|matcher| matcher.name == label && matcher.op == logql::MatchOp::Equal)
            .map(|matcher| matcher.value.clone())
            .collect();
        (!values.is_empty()).then_some(values)
    }

    fn refusal(&self, why: &str) -> String {
        format!(
            "your access is confined to {{{}}}, and this query cannot be confined: {why}",
            self.text
        )
    }
}

/// Every rule, read and checked at start.
#[derive(Debug, Clone, Default)]
pub struct LabelScopes {
    rules: Vec<(String, Vec<Matcher>)>,
}

impl LabelScopes {
    /// The rules, each matcher read; an error names the key of the first wrong one.
    pub fn new(rules: &[LabelScopeRule]) -> Result<Self, InvalidSetting> {
        let mut read = Vec::with_capacity(rules.len());
        for (at, rule) in rules.iter().enumerate() {
            if rule.who.trim().is_empty() {
                return Err(InvalidSetting::new(
                    format!("label_scopes[{at}].who"),
                    "is empty; name a Vitals role or a Cognito group",
                ));
            }
            if rule.matchers.is_empty() {
                return Err(InvalidSetting::new(
                    format!("label_scopes[{at}].matchers"),
                    "is empty; list at least one matcher, such as 'team=\"records\"'",
                ));
            }
            let matchers = rule
                .matchers
                .iter()
                .enumerate()
                .map(|(index, text)| {
                    logql::parse_matcher(text).map_err(|why| {
                        InvalidSetting::new(
                            format!("label_scopes[{at}].matchers[{index}]"),
                            format!("is \"{text}\": {why}"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            read.push((rule.who.trim().to_owned(), matchers));
        }
        Ok(Self { rules: read })
    }

    /// The scope of a person with these roles and groups; `None` when no rule names them.
    pub fn for_person(&self, roles: &[Role], groups: &[String]) -> Option<Arc<LabelScope>> {
        let matchers: Vec<Matcher> = self
            .rules
            .iter()
            .filter(|(who, _)| {
                roles.iter().any(|role| role.as_str() == who) || groups.iter().any(|group| group == who)
            })
            .flat_map(|(_, matchers)| matchers.iter().cloned())
            .collect();
        (!matchers.is_empty()).then(|| Arc::new(LabelScope::new(matchers)))
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(who: &str, matchers: &[&str]) -> LabelScopeRule {
        LabelScopeRule {
            who: who.into(),
            matchers: matchers.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    #[test]
    fn a_person_holds_the_matchers_of_every_rule_that_names_them() {
        let scopes = LabelScopes::new(&[
            rule("records-team", &[r#"team="records""#]),
            rule("engineer", &[r#"env="prod""#]),
            rule("admin", &[r#"env="staging""#]),
        ])
        .unwrap();
        let scope = scopes
            .for_person(&[Role::Engineer], &["records-team".into(), "other".into()])
            .unwrap();
        assert_eq!(scope.text, r#"env="prod", team="records""#);
        assert_eq!(scopes.for_person(&[Role::Operations], &["other".into()]), None);
        let refused = scope.confine_logql(r#"{a="b"} # x"#).unwrap_err();
        assert!(
            refused.starts_with(r#"your access is confined to {env="prod", team="records"}"#),
            "{refused}"
        );
    }

    #[test]
    fn a_wrong_rule_names_its_key() {
        for (rules, key) in [
            (vec![rule(" ", &[r#"a="b""#])], "label_scopes[0].who"),
            (vec![rule("x", &[])], "label_scopes[0].matchers"),
            (
                vec![rule("x", &[r#"a="b""#]), rule("y", &[r#"a="b""#, "team"])],
                "label_scopes[1].matchers[1]",
            ),
        ] {
            let error = LabelScopes::new(&rules).unwrap_err();
            assert!(error.to_string().contains(key), "{error}");
        }
    }
}
