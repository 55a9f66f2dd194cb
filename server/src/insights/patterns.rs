//! Log patterns: log lines clustered into templates, each with its count over a range, so an
//! engineer sees "these 4,000 lines are five kinds of message" and a business view can say
//! which failure most failures were.
//!
//! The miner follows Drain (He et al., "Drain: An Online Log Parsing Approach with Fixed Depth
//! Tree", 2017), as its Drain3 descendant does:
//!
//! 1. Each line is masked with the server's [`Masker`] first, so a template is made only of
//!    text that may leave the server: no patient detail can become part of one.
//! 2. Every word holding a digit (numbers, ids, hex, UUIDs, times) becomes `<*>` before mining,
//!    so lines that differ only in their numbers are the same line to the miner.
//! 3. Lines are split into tokens at whitespace and after commas (a JSON line's pairs are
//!    tokens of their own). Lines of different token counts never share a template.
//! 4. A prefix tree of fixed depth, keyed by the count and the first tokens, leads each line to
//!    a few candidate templates; the line joins the most similar one when at least
//!    [`MinerSettings::similarity`] of their tokens agree, and the tokens that differ become
//!    `<*>` (keeping what they share: `kind=follow-up` and `kind=referral` give `kind=<*>`).
//!    Otherwise the line starts a template of its own.
//!
//! The work is bounded: at most [`MinerSettings::max_lines`] lines, each cut at
//! [`MinerSettings::max_line_bytes`], into at most [`MinerSettings::max_patterns`] templates;
//! what is left over is counted, never silently dropped.

use std::collections::HashMap;

use vitals_api::query::TimeRange;

use crate::masking::{MASK, Masker};

/// What stands for the variable part of a template.
pub const WILDCARD: &str = "<*>";

/// How the miner clusters, and how much work it takes on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinerSettings {
    /// The share of a template's tokens a line must agree with to join it (Drain3's 0.4).
    pub similarity: f32,
    /// The tokens of a line that lead it down the prefix tree.
    pub prefix_tokens: usize,
    /// Children a node of the tree has before new tokens share its wildcard child.
    pub max_children: usize,
    /// The most lines mined of the range, and of the baseline; those past it are counted as skipped.
    pub max_lines: usize,
    /// The longest line mined, in bytes; a longer one is mined up to there.
    pub max_line_bytes: usize,
    /// The most templates made; past it a line that fits none is counted as unclustered.
    pub max_patterns: usize,
    /// Points of each pattern's sparkline over the range.
    pub buckets: usize,
}

impl Default for MinerSettings {
    fn default() -> Self {
        Self {
            similarity: 0.4,
            prefix_tokens: 2,
            max_children: 100,
            max_lines: 200_000,
            max_line_bytes: 2_048,
            max_patterns: 1_000,
            buckets: 30,
        }
    }
}

/// One template and the lines of the range that fit it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// The masked text shared by its lines, `<*>` where they differ.
    pub template: String,
    /// Lines of the range that fit it.
    pub count: usize,
    /// Its lines per equal part of the range, oldest first.
    pub sparkline: Vec<u32>,
    /// The first of its lines the miner saw, masked.
    pub example: String,
    /// Whether no line of the baseline range fits it (never, without a baseline).
    pub new: bool,
    /// A LogQL line filter (`|~ "…"`) that keeps the lines of this template.
    pub line_filter: String,
}

/// The patterns of a range, most frequent first, and what the bounds left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mined {
    pub patterns: Vec<Pattern>,
    /// Lines of the range mined.
    pub lines: usize,
    /// Lines of the range past [`MinerSettings::max_lines`], not mined.
    pub skipped_lines: usize,
    /// Lines of the range that fit no template once [`MinerSettings::max_patterns`] were made.
    pub unclustered_lines: usize,
    /// Lines of the baseline range mined.
    pub baseline_lines: usize,
}

/// Mines the lines of `range` (each its time in nanoseconds and its text as the source sent
/// it), after `baseline`'s lines when there are any, so a pattern can be told new.
pub fn mine<'a>(
    masker: &Masker,
    range: TimeRange,
    lines: impl IntoIterator<Item = (i64, &'a str)>,
    baseline: Option<&mut dyn Iterator<Item = &'a str>>,
    settings: &MinerSettings,
) -> Mined {
    let mut miner = PatternMiner::new(*settings);
    let mut mined = Mined::default();
    let compared = baseline.is_some();
    if let Some(baseline) = baseline {
        for line in baseline.take(settings.max_lines) {
            miner.add(&masker.mask(line), Side::Baseline);
            mined.baseline_lines += 1;
        }
    }
    let buckets = settings.buckets.max(1);
    let span_ms = range.duration_ms().max(1);
    let mut sparklines: HashMap<usize, Vec<u32>> = HashMap::new();
    for (time_ns, line) in lines {
        if mined.lines == settings.max_lines {
            mined.skipped_lines += 1;
            continue;
        }
        mined.lines += 1;
        let Some(cluster) = miner.add(&masker.mask(line), Side::Range) else {
            mined.unclustered_lines += 1;
            continue;
        };
        let offset_ms = time_ns.div_euclid(1_000_000).saturating_sub(range.start_ms);
        let bucket =
            (i128::from(offset_ms) * buckets as i128 / i128::from(span_ms)).clamp(0, buckets as i128 - 1);
        sparklines.entry(cluster).or_insert_with(|| vec![0; buckets])[bucket as usize] += 1;
    }
    mined.patterns = miner
        .clusters
        .into_iter()
        .enumerate()
        .filter(|(_, cluster)| cluster.count > 0)
        .map(|(id, cluster)| Pattern {
            template: cluster.template(),
            line_filter: cluster.line_filter(),
            count: cluster.count,
            sparkline: sparklines.remove(&id).unwrap_or_else(|| vec![0; buckets]),
            example: cluster.example,
            new: compared && cluster.baseline_count == 0,
        })
        .collect();
    mined
        .patterns
        .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.template.cmp(&b.template)));
    mined
}

/// Which range a mined line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Baseline,
    Range,
}

/// A Drain-style miner over lines already masked: [`mine`] feeds it, so nothing unmasked can.
#[derive(Debug)]
struct PatternMiner {
    settings: MinerSettings,
    /// By token count, and whether the line was cut.
    roots: HashMap<(usize, bool), Node>,
    clusters: Vec<Cluster>,
    /// Reused for each line: the line with its numbers as `<*>`, and its tokens.
    generalised: String,
    tokens: Vec<LineToken>,
}

#[derive(Debug, Default)]
struct Node {
    children: HashMap<Box<str>, Node>,
    clusters: Vec<usize>,
}

#[derive(Debug)]
struct Cluster {
    tokens: Vec<TemplateToken>,
    /// Lines cut at the longest line mined: the template ends where they were cut.
    cut: bool,
    count: usize,
    baseline_count: usize,
    example: String,
}

#[derive(Debug, Clone, PartialEq)]
struct TemplateToken {
    text: Box<str>,
    /// Whether it holds a `<*>`.
    wild: bool,
    /// Whether a space follows it in the template (not after a comma that had none).
    spaced: bool,
}

/// A token of the line being mined: where it is in `generalised`.
#[derive(Debug, Clone, Copy)]
struct LineToken {
    start: usize,
    end: usize,
    spaced: bool,
}

impl PatternMiner {
    fn new(settings: MinerSettings) -> Self {
        Self {
            settings,
            roots: HashMap::new(),
            clusters: Vec::new(),
            generalised: String::new(),
            tokens: Vec::new(),
        }
    }

    /// Mines one masked line; the index of the template it fits, or `None` when it fits none
    /// and the most templates have been made.
    fn add(&mut self, masked: &str, side: Side) -> Option<usize> {
        let (kept, cut) = cut_at(masked, self.settings.max_line_bytes);
        generalise(kept, &mut self.generalised);
        tokenise(&self.generalised, &mut self.tokens);
        let text = self.generalised.as_str();
        let tokens = &self.tokens;
        let settings = &self.settings;
        let root = self.roots.entry((tokens.len(), cut)).or_default();
        let depth = settings.prefix_tokens.min(tokens.len());

        let found = find_leaf(root, text, &tokens[..depth])
            .and_then(|leaf| best_cluster(&self.clusters, &leaf.clusters, text, tokens, settings.similarity));
        let id = match found {
            Some(id) => {
                self.clusters[id].absorb(text, tokens);
                id
            }
            None if self.clusters.len() >= settings.max_patterns => return None,
            None => {
                let id = self.clusters.len();
                let leaf = leaf_for_new(root, text, &tokens[..depth], settings.max_children);
                leaf.clusters.push(id);
                self.clusters.push(Cluster {
                    tokens: tokens
                        .iter()
                        .map(|token| {
                            let text = &text[token.start..token.end];
                            TemplateToken {
                                text: text.into(),
                                wild: text.contains(WILDCARD),
                                spaced: token.spaced,
                            }
                        })
                        .collect(),
                    cut,
                    count: 0,
                    baseline_count: 0,
                    example: kept.to_owned(),
                });
                id
            }
        };
        let cluster = &mut self.clusters[id];
        match side {
            Side::Baseline => cluster.baseline_count += 1,
            Side::Range => cluster.count += 1,
        }
        Some(id)
    }
}

/// The key a token has in the tree: its text, or the wildcard when it varies.
fn tree_key<'t>(text: &'t str, token: &LineToken) -> &'t str {
    let token = &text[token.start..token.end];
    if token.contains(WILDCARD) { WILDCARD } else { token }
}

fn find_leaf<'n>(root: &'n Node, text: &str, prefix: &[LineToken]) -> Option<&'n Node> {
    prefix.iter().try_fold(root, |node, token| {
        node.children
            .get(tree_key(text, token))
            .or_else(|| node.children.get(WILDCARD))
    })
}

fn leaf_for_new<'n>(
    root: &'n mut Node,
    text: &str,
    prefix: &[LineToken],
    max_children: usize,
) -> &'n mut Node {
    prefix.iter().fold(root, |node, token| {
        let mut key = tree_key(text, token);
        // A node keeps one place for its wildcard child, which takes every token past the last.
        if !node.children.contains_key(key) && node.children.len() + 1 >= max_children {
            key = WILDCARD;
        }
        node.children.entry(key.into()).or_default()
    })
}

/// The cluster among `candidates` the line agrees with most, when it agrees enough.
fn best_cluster(
    clusters: &[Cluster],
    candidates: &[usize],
    text: &str,
    tokens: &[LineToken],
    threshold: f32,
) -> Option<usize> {
    let mut best: Option<(usize, f32, usize)> = None;
    for &id in candidates {
        let (agreeing, wildcards) = clusters[id].agreement(text, tokens);
        let similarity = if tokens.is_empty() {
            1.0
        } else {
            agreeing as f32 / tokens.len() as f32
        };
        // Ties go to the more general template, as in Drain3.
        let better = best.is_none_or(|(_, best_similarity, best_wildcards)| {
            similarity > best_similarity || (similarity == best_similarity && wildcards > best_wildcards)
        });
        if similarity >= threshold && better {
            best = Some((id, similarity, wildcards));
        }
    }
    best.map(|(id, _, _)| id)
}

impl Cluster {
    /// How many of the line's tokens the template agrees with, and how many of its tokens are
    /// only a wildcard. A token that is only `<*>` agrees with nothing but `<*>`, so a template
    /// that has become all wildcards does not swallow every line of its length.
    fn agreement(&self, text: &str, tokens: &[LineToken]) -> (usize, usize) {
        let mut agreeing = 0;
        let mut wildcards = 0;
        for (template, token) in self.tokens.iter().zip(tokens) {
            let token = &text[token.start..token.end];
            if &*template.text == WILDCARD {
                wildcards += 1;
                agreeing += usize::from(token == WILDCARD);
            } else if &*template.text == token || (template.wild && glob_matches(&template.text, token)) {
                agreeing += 1;
            }
        }
        (agreeing, wildcards)
    }

    /// Takes a line in: each token it does not fit becomes what the two share around a `<*>`.
    fn absorb(&mut self, text: &str, tokens: &[LineToken]) {
        for (template, token) in self.tokens.iter_mut().zip(tokens) {
            let token = &text[token.start..token.end];
            if &*template.text == token || (template.wild && glob_matches(&template.text, token)) {
                continue;
            }
            template.text = merge_tokens(&template.text, token).into();
            template.wild = true;
        }
    }

    fn template(&self) -> String {
        let mut out = String::new();
        for (index, token) in self.tokens.iter().enumerate() {
            out.push_str(&token.text);
            if token.spaced && index + 1 < self.tokens.len() {
                out.push(' ');
            }
        }
        if self.cut {
            out.push_str(" …");
        }
        out
    }

    /// A LogQL line filter keeping the lines of this template: its fixed parts in order, a
    /// `<*>` any run without a space, a masked value anything (the line holds it unmasked).
    fn line_filter(&self) -> String {
        let mut regex = String::from("^\\s*");
        for (index, token) in self.tokens.iter().enumerate() {
            for (part_index, part) in token.text.split(MASK).enumerate() {
                if part_index > 0 {
                    regex.push_str(".*");
                }
                for (wild_index, literal) in part.split(WILDCARD).enumerate() {
                    if wild_index > 0 {
                        regex.push_str("\\S*");
                    }
                    regex.push_str(&regex::escape(literal));
                }
            }
            if token.spaced && index + 1 < self.tokens.len() {
                regex.push_str("\\s+");
            }
        }
        if !self.cut {
            regex.push_str("\\s*$");
        }
        format!("|~ \"{}\"", regex.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Whether `token` fits `template`, each `<*>` of it standing for any run of characters.
fn glob_matches(template: &str, token: &str) -> bool {
    let mut parts = template.split(WILDCARD);
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = token.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// What `template` and `token` share at their start and end, with `<*>` between: never
/// inside a word (`north` and `south` share nothing worth keeping) nor a `<*>` of the template
/// cut in two, so every line the template fitted still fits.
fn merge_tokens(template: &str, token: &str) -> String {
    let (a, b) = (template.as_bytes(), token.as_bytes());
    // Bytes of non-ASCII characters count as word bytes: a cut never splits a character.
    let word = |byte: Option<&u8>| byte.is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte >= 0x80);
    let mut prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let mut suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
        .min(a.len().min(b.len()) - prefix);
    while prefix > 0
        && ((word(a.get(prefix - 1)) && (word(a.get(prefix)) || word(b.get(prefix))))
            || partial_wildcard_end(&a[..prefix]))
    {
        prefix -= 1;
    }
    while suffix > 0 && {
        let start = a.len() - suffix;
        (word(a.get(start))
            && (word(a.get(start.wrapping_sub(1))) || word(b.get((b.len() - suffix).wrapping_sub(1)))))
            || partial_wildcard_start(&a[start..])
    } {
        suffix -= 1;
    }
    let mut merged = String::with_capacity(prefix + WILDCARD.len() + suffix);
    merged.push_str(&template[..prefix]);
    if !merged.ends_with(WILDCARD) {
        merged.push_str(WILDCARD);
    }
    let tail = &template[template.len() - suffix..];
    merged.push_str(tail.strip_prefix(WILDCARD).unwrap_or(tail));
    merged
}

fn partial_wildcard_end(text: &[u8]) -> bool {
    text.ends_with(b"<") || text.ends_with(b"<*")
}

fn partial_wildcard_start(text: &[u8]) -> bool {
    text.starts_with(b">") || text.starts_with(b"*>")
}

/// `line` up to `max_bytes` (at a character's edge), and whether it was cut.
fn cut_at(line: &str, max_bytes: usize) -> (&str, bool) {
    if line.len() <= max_bytes {
        return (line, false);
    }
    let mut end = max_bytes;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    (&line[..end], true)
}

/// Whether a byte is part of a word that may be an id: letters, digits, `_`, `-` and `.`.
fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.')
}

/// Writes `line` into `out` with each word that holds a digit, or is a long run of hex, as
/// `<*>`: numbers, ids, hex digests, UUIDs and times.
fn generalise(line: &str, out: &mut String) {
    out.clear();
    let bytes = line.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if !is_word_byte(bytes[at]) {
            let start = at;
            while at < bytes.len() && !is_word_byte(bytes[at]) {
                at += 1;
            }
            out.push_str(&line[start..at]);
            continue;
        }
        let start = at;
        let mut digit = false;
        let mut hex = true;
        while at < bytes.len() && is_word_byte(bytes[at]) {
            digit |= bytes[at].is_ascii_digit();
            hex &= bytes[at].is_ascii_hexdigit();
            at += 1;
        }
        if digit || (hex && at - start >= 16) {
            out.push_str(WILDCARD);
        } else {
            out.push_str(&line[start..at]);
        }
    }
}

/// Splits `text` into tokens at runs of whitespace and after each comma.
fn tokenise(text: &str, tokens: &mut Vec<LineToken>) {
    tokens.clear();
    let bytes = text.as_bytes();
    let mut start = None;
    for (at, byte) in bytes.iter().enumerate() {
        if byte.is_ascii_whitespace() {
            if let Some(from) = start.take() {
                tokens.push(LineToken {
                    start: from,
                    end: at,
                    spaced: true,
                });
            }
        } else {
            let from = *start.get_or_insert(at);
            let next_is_space = bytes.get(at + 1).is_none_or(u8::is_ascii_whitespace);
            if *byte == b',' && !next_is_space {
                tokens.push(LineToken {
                    start: from,
                    end: at + 1,
                    spaced: false,
                });
                start = None;
            }
        }
    }
    if let Some(from) = start {
        tokens.push(LineToken {
            start: from,
            end: bytes.len(),
            spaced: true,
        });
    }
}

/// `query` narrowed to a pattern's lines: its `line_filter` right after the stream selector,
/// before any stage of the query; `None` when the query has no stream selector.
pub fn narrowed(query: &str, line_filter: &str) -> Option<String> {
    let selector = crate::reveal::stream_selector(query)?;
    let selector_end = query.len() - query.trim_start().len() + selector.len();
    Some(format!(
        "{} {line_filter}{}",
        &query[..selector_end],
        &query[selector_end..]
    ))
}

/// The words a template says in plain language: its `msg` when it has one, else its text,
/// with `…` for what varies.
pub fn plain_words(template: &str) -> String {
    let message = ["msg=\"", "\"msg\":\"", "message=\"", "\"message\":\""]
        .iter()
        .find_map(|key| {
            let at = template.find(key)? + key.len();
            let rest = &template[at..];
            Some(&rest[..rest.find('"')?])
        })
        .unwrap_or(template);
    message.replace(WILDCARD, "…").trim().to_owned()
}

/// The patterns of a set of lines (failed logins, say) as a sentence for business users:
/// "Most failed logins today (87%) were 'user record not found'". Patterns saying the same
/// words count as one; `None` without lines.
pub fn top_pattern_sentence(patterns: &[Pattern], what: &str, range_words: &str) -> Option<String> {
    let total: usize = patterns.iter().map(|pattern| pattern.count).sum();
    if total == 0 {
        return None;
    }
    let mut by_words: Vec<(String, usize)> = Vec::new();
    for pattern in patterns {
        let words = plain_words(&pattern.template);
        match by_words.iter_mut().find(|(seen, _)| *seen == words) {
            Some((_, count)) => *count += pattern.count,
            None => by_words.push((words, pattern.count)),
        }
    }
    let (words, count) = by_words
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))?;
    let share = count * 100 / total;
    Some(if count == total {
        format!("All {what} {range_words} were '{words}'")
    } else if count * 2 > total {
        format!("Most {what} {range_words} ({share}%) were '{words}'")
    } else {
        format!("The largest share of {what} {range_words} ({share}%) were '{words}'")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANGE: TimeRange = TimeRange {
        start_ms: 1_795_460_400_000,
        end_ms: 1_795_467_600_000,
    };

    fn mine_texts(lines: &[&str]) -> Mined {
        mine(
            &Masker::default(),
            RANGE,
            lines.iter().map(|line| (RANGE.start_ms * 1_000_000, *line)),
            None,
            &MinerSettings::default(),
        )
    }

    #[test]
    fn near_identical_lines_with_different_numbers_fall_into_one_template() {
        let mined = mine_texts(&[
            "took 12 ms to answer request 0a1b2c3d-4e5f-6789-abcd-ef0123456789 from 10.0.3.17:8080",
            "took 7 ms to answer request 1b2c3d4e-5f60-789a-bcde-f01234567890 from 10.0.3.18:8081",
            "took 1234 ms to answer request 2c3d4e5f-6071-89ab-cdef-012345678901 from 10.0.3.19:9000",
        ]);
        assert_eq!(mined.patterns.len(), 1, "{:#?}", mined.patterns);
        assert_eq!(
            mined.patterns[0].template,
            "took <*> ms to answer request <*> from <*>:<*>"
        );
        assert_eq!(mined.patterns[0].count, 3);
    }

    #[test]
    fn words_that_differ_become_wildcards_keeping_what_they_share() {
        let mined = mine_texts(&[
            r#"level=info msg="doctor interaction" clinic=north kind=follow-up duration_ms=774"#,
            r#"level=info msg="doctor interaction" clinic=south kind=prescription duration_ms=12"#,
            r#"level=info msg="doctor interaction" clinic=east kind=referral duration_ms=99"#,
        ]);
        assert_eq!(mined.patterns.len(), 1, "{:#?}", mined.patterns);
        assert_eq!(
            mined.patterns[0].template,
            r#"level=info msg="doctor interaction" clinic=<*> kind=<*> duration_ms=<*>"#
        );
    }

    #[test]
    fn different_messages_stay_apart() {
        let mined = mine_texts(&[
            r#"level=error msg="registration failed" reason=validation"#,
            r#"level=error msg="registration failed" reason=timeout"#,
            r#"level=info msg="patient registered" clinic=north"#,
            "connection reset by peer",
        ]);
        let templates: Vec<&str> = mined.patterns.iter().map(|p| p.template.as_str()).collect();
        assert_eq!(
            templates,
            [
                r#"level=error msg="registration failed" reason=<*>"#,
                "connection reset by peer",
                r#"level=info msg="patient registered" clinic=north"#,
            ]
        );
    }

    #[test]
    fn json_pairs_are_tokens_of_their_own() {
        let mined = mine_texts(&[
            r#"{"level":"info","msg":"login ok","user":"alice","status":200}"#,
            r#"{"level":"info","msg":"login ok","user":"bob","status":200}"#,
        ]);
        assert_eq!(mined.patterns.len(), 1);
        assert_eq!(
            mined.patterns[0].template,
            r#"{"level":"info","msg":"login ok","user":"<*>","status":<*>}"#
        );
    }

    #[test]
    fn no_masked_value_appears_in_a_template_or_an_example() {
        let lines = [
            r#"level=info msg="patient registered" patient_name="Maria Garcia" mrn=48211093 dob=1984-03-02"#,
            r#"level=info msg="patient registered" patient_name="Wei Silva" mrn=85403925 dob=1990-11-06"#,
            "reminder for patient Maria Garcia sent to wei.silva@example.com",
            "reminder for patient Wei Silva sent to maria.garcia@example.com",
        ];
        let mined = mine_texts(&lines);
        for pattern in &mined.patterns {
            for secret in [
                "Maria",
                "Garcia",
                "Wei",
                "Silva",
                "48211093",
                "1984",
                "example.com",
            ] {
                assert!(
                    !pattern.template.contains(secret),
                    "{secret} in {}",
                    pattern.template
                );
                assert!(
                    !pattern.example.contains(secret),
                    "{secret} in {}",
                    pattern.example
                );
                assert!(
                    !pattern.line_filter.contains(secret),
                    "{secret} in {}",
                    pattern.line_filter
                );
            }
        }
        assert_eq!(
            mined.patterns[0].template,
            r#"level=info msg="patient registered" patient_name="[masked]" mrn=[masked] dob=[masked]"#
        );
    }

    #[test]
    fn the_line_filter_selects_the_lines_of_its_template_unmasked() {
        let lines = [
            r#"level=info msg="patient registered" clinic=north patient_name="Maria Garcia" duration_ms=12"#,
            r#"level=info msg="patient registered" clinic=south patient_name="Wei Silva" duration_ms=7"#,
        ];
        let mined = mine_texts(&lines);
        assert_eq!(mined.patterns.len(), 1);
        let filter = &mined.patterns[0].line_filter;
        let quoted = filter.strip_prefix("|~ ").unwrap();
        let regex: String = serde_json::from_str(quoted).unwrap();
        let regex = regex::Regex::new(&regex).unwrap();
        for line in lines {
            assert!(regex.is_match(line), "{regex} misses {line}");
        }
        assert!(!regex.is_match(r#"level=info msg="patient registered" clinic=north"#));
        assert!(!regex.is_match(r#"level=error msg="registration failed" clinic=north x=1 y=2"#));
    }

    #[test]
    fn the_work_is_bounded_and_what_is_left_over_is_counted() {
        // The longest first: every line mined is cut.
        let lines: Vec<String> = (0..50u8)
            .rev()
            .map(|n| {
                format!(
                    "event{} {}",
                    char::from(b'a' + n % 26),
                    "x".repeat(usize::from(n))
                )
            })
            .collect();
        let settings = MinerSettings {
            max_lines: 40,
            max_patterns: 5,
            max_line_bytes: 16,
            ..MinerSettings::default()
        };
        let mined = mine(
            &Masker::default(),
            RANGE,
            lines
                .iter()
                .map(|line| (RANGE.start_ms * 1_000_000, line.as_str())),
            None,
            &settings,
        );
        assert_eq!(mined.lines, 40);
        assert_eq!(mined.skipped_lines, 10);
        assert!(mined.patterns.len() <= 5);
        assert_eq!(
            mined.patterns.iter().map(|p| p.count).sum::<usize>() + mined.unclustered_lines,
            40
        );
        assert!(mined.patterns.iter().all(|p| p.example.len() <= 16));
        assert!(mined.patterns.iter().any(|p| p.template.ends_with(" …")));
    }

    #[test]
    fn patterns_absent_from_the_baseline_are_new() {
        let mut baseline = ["connection reset by peer", "cache warmed in 12 ms"].into_iter();
        let mined = mine(
            &Masker::default(),
            RANGE,
            [
                (RANGE.start_ms * 1_000_000, "cache warmed in 40 ms"),
                (RANGE.end_ms * 1_000_000 - 1, "disk almost full on node-3"),
            ],
            Some(&mut baseline),
            &MinerSettings::default(),
        );
        assert_eq!(mined.baseline_lines, 2);
        let by_template: HashMap<&str, bool> = mined
            .patterns
            .iter()
            .map(|p| (p.template.as_str(), p.new))
            .collect();
        assert_eq!(
            by_template,
            HashMap::from([
                ("cache warmed in <*> ms", false),
                ("disk almost full on <*>", true)
            ]),
            "a baseline pattern with no line in the range is not listed"
        );
    }

    #[test]
    fn the_sparkline_counts_each_part_of_the_range() {
        let step_ns = RANGE.duration_ms() * 1_000_000 / 30;
        let start_ns = RANGE.start_ms * 1_000_000;
        let mined = mine(
            &Masker::default(),
            RANGE,
            [
                (start_ns, "tick"),
                (start_ns + 1, "tick"),
                (start_ns + 29 * step_ns, "tick"),
            ],
            None,
            &MinerSettings::default(),
        );
        let sparkline = &mined.patterns[0].sparkline;
        assert_eq!(sparkline.len(), 30);
        assert_eq!(
            (sparkline[0], sparkline[29], sparkline.iter().sum::<u32>()),
            (2, 1, 3)
        );
    }

    #[test]
    fn getitem_failures_of_the_recorded_loki_payload_form_one_pattern() {
        let payload: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/loki/push-payload.json")).unwrap();
        let mut lines = Vec::new();
        for stream in payload["streams"].as_array().unwrap() {
            for value in stream["values"].as_array().unwrap() {
                let time: i64 = value[0].as_str().unwrap().parse().unwrap();
                lines.push((time, value[1].as_str().unwrap()));
            }
        }
        let range = TimeRange::new(1_795_474_800_000, 1_795_482_000_000);
        let mined = mine(
            &Masker::default(),
            range,
            lines.iter().copied(),
            None,
            &MinerSettings::default(),
        );
        assert_eq!(mined.lines, 380);
        let failures: Vec<&Pattern> = mined
            .patterns
            .iter()
            .filter(|p| p.template.contains("GetItem failed"))
            .collect();
        assert_eq!(failures.len(), 1, "{:#?}", mined.patterns);
        let expected = lines
            .iter()
            .filter(|(_, line)| line.contains("GetItem failed"))
            .count();
        assert_eq!((failures[0].count, expected), (15, 15));
        assert_eq!(
            failures[0].template,
            r#"{"level":"error","msg":"GetItem failed","table":"users","key":"latest","error":"ResourceNotFoundException","status":<*>,"duration_ms":<*>,"trace_id":"<*>"}"#
        );
        assert_eq!(failures[0].sparkline.iter().sum::<u32>(), 15);
        // Every line is in exactly one pattern, and no patient detail in any.
        assert_eq!(mined.patterns.iter().map(|p| p.count).sum::<usize>(), 380);
        for pattern in &mined.patterns {
            for (_, line) in &lines {
                for field in [
                    "patient_name=\"",
                    "mrn=",
                    "dob=",
                    "ssn=",
                    "\"email\":\"",
                    "\"phone\":\"",
                ] {
                    if let Some(at) = line.find(field) {
                        let value: String = line[at + field.len()..]
                            .chars()
                            .take_while(|c| !matches!(c, '"' | ' ' | ','))
                            .collect();
                        assert!(
                            !pattern.template.contains(&value),
                            "{value} in {}",
                            pattern.template
                        );
                        assert!(
                            !pattern.example.contains(&value),
                            "{value} in {}",
                            pattern.example
                        );
                    }
                }
            }
        }
        assert!(mined.patterns.len() < 20, "{} patterns", mined.patterns.len());
    }

    fn pattern(template: &str, count: usize) -> Pattern {
        Pattern {
            template: template.into(),
            count,
            sparkline: Vec::new(),
            example: String::new(),
            new: false,
            line_filter: String::new(),
        }
    }

    #[test]
    fn the_top_pattern_is_told_as_a_sentence() {
        let patterns = [
            pattern(r#"level=error msg="user record not found" user=<*>"#, 80),
            pattern(
                r#"{"level":"error","msg":"user record not found","user":"<*>","ip":"<*>"}"#,
                7,
            ),
            pattern(r#"level=error msg="password wrong" user=<*>"#, 13),
        ];
        assert_eq!(
            top_pattern_sentence(&patterns, "failed logins", "today").as_deref(),
            Some("Most failed logins today (87%) were 'user record not found'")
        );
        assert_eq!(
            top_pattern_sentence(&patterns[2..], "failed logins", "in the last hour").as_deref(),
            Some("All failed logins in the last hour were 'password wrong'")
        );
        let even = [
            pattern("timeout after <*> s", 3),
            pattern("connection refused", 4),
            pattern("disk full", 3),
        ];
        assert_eq!(
            top_pattern_sentence(&even, "failed bookings", "this week").as_deref(),
            Some("The largest share of failed bookings this week (40%) were 'connection refused'")
        );
        assert_eq!(top_pattern_sentence(&[], "failed logins", "today"), None);
        assert_eq!(plain_words("timeout after <*> s"), "timeout after … s");
    }

    #[test]
    fn merging_never_cuts_a_wildcard_in_two() {
        assert_eq!(merge_tokens("kind=follow-up", "kind=referral"), "kind=<*>");
        assert_eq!(
            merge_tokens(r#""user":"<*>","#, r#""user":null,"#),
            r#""user":<*>,"#
        );
        assert_eq!(merge_tokens("<*>ms", "<x"), "<*>");
        assert_eq!(merge_tokens("abc", "abc-def"), "abc<*>");
        assert_eq!(merge_tokens("clinic=north", "clinic=south"), "clinic=<*>");
        assert_eq!(merge_tokens("north", "nope"), "<*>");
        assert_eq!(merge_tokens("café=1", "cafè=1"), "<*>=1");
        assert!(glob_matches("a<*>b<*>c", "axxbyyc") && !glob_matches("a<*>b<*>c", "axxc"));
        assert!(glob_matches("ab<*>", "ab") && !glob_matches("ab<*>ba", "aba"));
    }
}
