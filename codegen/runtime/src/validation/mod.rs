//! Constraint checks generated deserializers call, worded as AWS words its ValidationException.

use std::sync::OnceLock;

use regex::Regex;

/// A `smithy.api#pattern`, compiled on first use.
#[derive(Debug)]
pub struct Pattern {
    source: &'static str,
    compiled: OnceLock<Option<Regex>>,
}

impl Pattern {
    pub const fn new(source: &'static str) -> Self {
        Self {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// The generator test-compiles every pattern, so `None` here means a regex-crate regression.
    fn regex(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| Regex::new(self.source).ok())
            .as_ref()
    }
}

/// Collects constraint violations while an input is read, with the member path AWS reports.
#[derive(Debug, Default)]
pub struct Violations {
    path: Vec<String>,
    messages: Vec<String>,
}

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Descends into a member by its wire name.
    pub fn enter(&mut self, member: &str) {
        self.path.push(member.to_owned());
    }

    /// Descends into the `index`-th (0-based) element of a list, reported 1-based as AWS does.
    pub fn enter_index(&mut self, index: usize) {
        self.path.push(format!("{}.member", index + 1));
    }

    pub fn leave(&mut self) {
        self.path.pop();
    }

    fn at(&self, member: Option<&str>) -> String {
        let mut parts: Vec<&str> = self.path.iter().map(String::as_str).collect();
        if let Some(m) = member {
            parts.push(m);
        }
        parts.join(".")
    }

    fn push(&mut self, value: &str, member: Option<&str>, constraint: &str) {
        let at = self.at(member);
        self.messages.push(format!(
            "{value} at '{at}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member is absent.
    pub fn missing(&mut self, member: &str) {
        self.push("Value null", Some(member), "Member must not be null");
    }

    /// A union arrived with no member set.
    pub fn missing_union(&mut self) {
        self.push(
            "Value null",
            None,
            "Member must have exactly one member set",
        );
    }

    fn shown(value: &str, sensitive: bool) -> String {
        if sensitive {
            "Value '*** Sensitive Data Redacted ***'".to_owned()
        } else {
            format!("Value '{value}'")
        }
    }

    /// `smithy.api#length` on the current member; `len` counts characters, bytes or elements.
    pub fn length(
        &mut self,
        shown: &str,
        sensitive: bool,
        len: usize,
        min: Option<u64>,
        max: Option<u64>,
    ) {
        let len = len as u64;
        if let Some(min) = min
            && len < min
        {
            let v = Self::shown(shown, sensitive);
            self.push(
                &v,
                None,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
        if let Some(max) = max
            && len > max
        {
            let v = Self::shown(shown, sensitive);
            self.push(
                &v,
                None,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// `smithy.api#range` on the current member.
    pub fn range(&mut self, value: f64, min: Option<f64>, max: Option<f64>) {
        if let Some(min) = min
            && value < min
        {
            self.push(
                &format!("Value '{value}'"),
                None,
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
        if let Some(max) = max
            && value > max
        {
            self.push(
                &format!("Value '{value}'"),
                None,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// `smithy.api#pattern` on the current member.
    pub fn pattern(&mut self, value: &str, sensitive: bool, pattern: &Pattern) {
        if let Some(re) = pattern.regex()
            && !re.is_match(value)
        {
            let v = Self::shown(value, sensitive);
            self.push(
                &v,
                None,
                &format!(
                    "Member must satisfy regular expression pattern: {}",
                    pattern.source
                ),
            );
        }
    }

    /// An enum member got a value outside its set.
    pub fn enum_value(&mut self, value: &str, allowed: &[&str]) {
        self.push(
            &format!("Value '{value}'"),
            None,
            &format!(
                "Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
        );
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The ValidationException message AWS sends for these violations, if any.
    pub fn message(&self) -> Option<String> {
        match self.messages.len() {
            0 => None,
            1 => Some(format!("1 validation error detected: {}", self.messages[0])),
            n => Some(format!(
                "{n} validation errors detected: {}",
                self.messages.join("; ")
            )),
        }
    }
}

#[cfg(test)]
mod tests;
