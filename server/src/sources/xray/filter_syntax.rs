//! Checks an X-Ray filter expression before it is sent, and points at the part that is wrong.
//!
//! X-Ray's own refusal says only that the expression is invalid. This reads the language as
//! X-Ray documents it (boolean, number and string keywords, annotations, `service()`, `edge()`
//! and `id()` with their braces, `!`, `AND`, `OR`, parentheses, and conditions side by side
//! meaning AND) and answers with the first wrong part's place in the text and what to write
//! instead. Less common keyword families (`rootcause.*`, `group.*`) are checked for shape only.

use vitals_api::TextSpan;

/// Keywords that are true or false: `ok`, `!partial`, `fault = true`.
const BOOLEAN: [&str; 5] = ["ok", "error", "throttle", "fault", "partial"];
/// Keywords compared with a number: `responsetime > 2`.
const NUMBER: [&str; 3] = ["responsetime", "duration", "http.status"];
/// Keywords compared with text: `http.url CONTAINS "/login"`.
const STRING: [&str; 5] = [
    "http.url",
    "http.method",
    "http.useragent",
    "http.clientip",
    "user",
];
/// Keyword families whose members are many: their shape is checked, not their names.
const FAMILIES: [&str; 3] = ["annotation.", "rootcause.", "group."];
const FUNCTIONS: [&str; 3] = ["service", "edge", "id"];
/// Parentheses, braces and `!` nest at most this deep.
const MAX_NESTING: usize = 32;

/// Where and why a filter expression is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    /// Characters from the start of the expression.
    pub at: TextSpan,
}

/// Checks `text`; `Ok` when X-Ray can read it.
pub fn check(text: &str) -> Result<(), SyntaxError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        depth: 0,
        end: text.chars().count() as u32,
    };
    if parser.tokens.is_empty() {
        return Ok(());
    }
    parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(()),
        Some(token) => Err(parser.error_at(
            token,
            format!(
                "{} does not continue the filter here; join conditions with AND or OR",
                token.shown()
            ),
        )),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Word(String),
    Text,
    Number,
    Open(char),
    Close(char),
    Comma,
    Colon,
    Not,
    Compare(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    kind: Kind,
    text: String,
    span: TextSpan,
}

impl Token {
    fn shown(&self) -> String {
        match self.kind {
            Kind::Text => "the text".to_owned() + &format!(" {}", self.text),
            _ => format!("`{}`", self.text),
        }
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(&self.kind, Kind::Word(text) if text.eq_ignore_ascii_case(word))
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let span = |start: usize, end: usize| TextSpan {
        start: start as u32,
        end: end as u32,
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let start = i;
        let kind = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' | '{' => {
                i += 1;
                Kind::Open(c)
            }
            ')' | '}' => {
                i += 1;
                Kind::Close(c)
            }
            ',' => {
                i += 1;
                Kind::Comma
            }
            ':' => {
                i += 1;
                Kind::Colon
            }
            '!' if next == Some('=') => {
                i += 2;
                Kind::Compare("!=")
            }
            '!' => {
                i += 1;
                Kind::Not
            }
            '=' => {
                i += 1;
                Kind::Compare("=")
            }
            '<' | '>' if next == Some('=') => {
                i += 2;
                Kind::Compare(if c == '<' { "<=" } else { ">=" })
            }
            '<' | '>' => {
                i += 1;
                Kind::Compare(if c == '<' { "<" } else { ">" })
            }
            '&' if next == Some('&') => {
                i += 2;
                Kind::Word("AND".into())
            }
            '|' if next == Some('|') => {
                i += 2;
                Kind::Word("OR".into())
            }
            '"' => {
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(SyntaxError {
                                message: "this text is never closed; end it with \"".into(),
                                at: span(start, chars.len()),
                            });
                        }
                        Some('\\') => i += 2,
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                Kind::Text
            }
            c if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                i += 1;
                while chars.get(i).is_some_and(|c| c.is_ascii_digit() || *c == '.') {
                    i += 1;
                }
                Kind::Number
            }
            c if c.is_alphabetic() || c == '_' => {
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
                {
                    i += 1;
                }
                Kind::Word(chars[start..i].iter().collect())
            }
            other => {
                return Err(SyntaxError {
                    message: format!(
                        "`{other}` has no meaning in a filter; remove it, or put it inside \"…\""
                    ),
                    at: span(start, start + 1),
                });
            }
        };
        tokens.push(Token {
            kind,
            text: chars[start..i].iter().collect(),
            span: span(start, i),
        });
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    /// Characters in the whole text, for errors at its end.
    end: u32,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned()?;
        self.at += 1;
        Some(token)
    }

    fn error_at(&self, token: &Token, message: String) -> SyntaxError {
        SyntaxError {
            message,
            at: token.span,
        }
    }

    /// An error at the end of the text, after `after`.
    fn ends_early(&self, expected: &str) -> SyntaxError {
        let after = self
            .at
            .checked_sub(1)
            .and_then(|last| self.tokens.get(last))
            .map_or("the start".to_owned(), |token| format!("`{}`", token.text));
        SyntaxError {
            message: format!("the filter ends after {after}; {expected}"),
            at: TextSpan {
                start: self.end,
                end: self.end,
            },
        }
    }

    fn or(&mut self) -> Result<(), SyntaxError> {
        self.and()?;
        while self.peek().is_some_and(|token| token.is_word("OR")) {
            self.at += 1;
            self.and()?;
        }
        Ok(())
    }

    fn and(&mut self) -> Result<(), SyntaxError> {
        self.unary()?;
        loop {
            match self.peek() {
                Some(token) if token.is_word("AND") => {
                    self.at += 1;
                    self.unary()?;
                }
                // Conditions side by side mean AND: `ok !partial duration < 3`.
                Some(token)
                    if matches!(token.kind, Kind::Word(_) | Kind::Not | Kind::Open('('))
                        && !token.is_word("OR") =>
                {
                    self.unary()?;
                }
                _ => return Ok(()),
            }
        }
    }

    fn unary(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<(), SyntaxError> {
        let Some(token) = self.next() else {
            return Err(self.ends_early("add a condition, such as fault or responsetime > 2"));
        };
        if self.depth > MAX_NESTING {
            return Err(self.error_at(
                &token,
                format!("the filter nests deeper than {MAX_NESTING} levels here; write it flatter"),
            ));
        }
        match &token.kind {
            Kind::Not => self.unary(),
            Kind::Open('(') => {
                self.or()?;
                self.close(&token, ')')
            }
            Kind::Word(word) if word.eq_ignore_ascii_case("AND") || word.eq_ignore_ascii_case("OR") => Err(
                self.error_at(&token, format!("`{word}` needs a condition before it")),
            ),
            Kind::Word(word) => {
                let word = word.clone();
                self.keyword(&token, &word)
            }
            _ => Err(self.error_at(
                &token,
                format!(
                    "{} cannot start a condition; start with a keyword such as ok, responsetime or service(\"name\")",
                    token.shown()
                ),
            )),
        }
    }

    fn close(&mut self, open: &Token, wanted: char) -> Result<(), SyntaxError> {
        match self.next() {
            Some(Token {
                kind: Kind::Close(found),
                ..
            }) if found == wanted => Ok(()),
            Some(other) => Err(self.error_at(
                &other,
                format!(
                    "expected `{wanted}` to close the `{}` here, found {}",
                    open.text,
                    other.shown()
                ),
            )),
            None => Err(self.error_at(
                open,
                format!("this `{}` is never closed; add `{wanted}`", open.text),
            )),
        }
    }

    fn keyword(&mut self, token: &Token, word: &str) -> Result<(), SyntaxError> {
        if FUNCTIONS.contains(&word) && self.peek().is_some_and(|next| next.kind == Kind::Open('(')) {
            return self.function(token, word);
        }
        if BOOLEAN.contains(&word) {
            if let Some(compare) = self.compare_next() {
                let value = self.value(&compare, "true or false")?;
                if !(value.is_word("true") || value.is_word("false"))
                    || matches!(compare.kind, Kind::Compare(op) if op != "=" && op != "!=")
                {
                    return Err(self.error_at(
                        &value,
                        format!("`{word}` is true or false: write {word}, !{word} or {word} = false"),
                    ));
                }
            }
            return Ok(());
        }
        if NUMBER.contains(&word) {
            let compare = self.require_compare(token, word, "> 2")?;
            let value = self.value(&compare, "a number")?;
            if value.kind != Kind::Number {
                let example = if word == "http.status" {
                    "= 404"
                } else {
                    "> 2.5 (seconds)"
                };
                return Err(self.error_at(
                    &value,
                    format!("`{word}` is compared with a number; write, for example, {word} {example}"),
                ));
            }
            return Ok(());
        }
        if STRING.contains(&word) {
            let compare = self.string_compare(token, word)?;
            let value = self.value(&compare, "a text in double quotes")?;
            if value.kind != Kind::Text {
                return Err(self.error_at(
                    &value,
                    format!("`{word}` is compared with a text in double quotes; write, for example, {word} CONTAINS \"/login\""),
                ));
            }
            return Ok(());
        }
        if let Some(family) = FAMILIES.iter().find(|family| word.starts_with(**family)) {
            if word.len() == family.len() {
                return Err(self.error_at(
                    token,
                    format!("`{word}` needs a name after the dot, such as {family}clinic"),
                ));
            }
            // An annotation alone asks whether it is there.
            if let Some(compare) = self.any_compare_next() {
                let value = self.value(&compare, "a value")?;
                if !matches!(value.kind, Kind::Text | Kind::Number)
                    && !value.is_word("true")
                    && !value.is_word("false")
                {
                    return Err(self.error_at(
                        &value,
                        format!("compare `{word}` with a text in double quotes, a number, true or false"),
                    ));
                }
            }
            return Ok(());
        }
        Err(self.error_at(token, unknown_keyword(word)))
    }

    /// `service()`, `service("name") { … }`, `edge("a", "b") { … }`, `id(name: "…", type: "…")`.
    fn function(&mut self, token: &Token, word: &str) -> Result<(), SyntaxError> {
        let open = self
            .next()
            .ok_or_else(|| self.ends_early("add ( after the function"))?;
        let mut arguments = 0;
        loop {
            let Some(next) = self.next() else {
                return Err(self.error_at(&open, format!("this `(` of {word}() is never closed; add `)`")));
            };
            match &next.kind {
                Kind::Close(')') => break,
                Kind::Text => arguments += 1,
                Kind::Word(name)
                    if name == "id" && self.peek().is_some_and(|after| after.kind == Kind::Open('(')) =>
                {
                    self.function(&next, "id")?;
                    arguments += 1;
                }
                // id(name: "…", type: "…", account.id: "…")
                Kind::Word(_)
                    if word == "id" && self.peek().is_some_and(|after| after.kind == Kind::Colon) =>
                {
                    self.at += 1;
                    let value = self
                        .next()
                        .ok_or_else(|| self.ends_early("add a text in double quotes"))?;
                    if value.kind != Kind::Text {
                        return Err(self.error_at(&value, "write the value of id() in double quotes".into()));
                    }
                    arguments += 1;
                }
                _ => {
                    return Err(self.error_at(
                        &next,
                        format!("{word}() takes names in double quotes, such as {word}(\"login-api\")"),
                    ));
                }
            }
            match self.peek().map(|after| after.kind.clone()) {
                Some(Kind::Comma) => self.at += 1,
                Some(Kind::Close(')')) => {}
                Some(_) => {
                    let next = self.tokens[self.at].clone();
                    return Err(
                        self.error_at(&next, format!("separate the arguments of {word}() with commas"))
                    );
                }
                None => {}
            }
        }
        if word == "edge" && arguments != 2 {
            return Err(self.error_at(
                token,
                format!("edge() takes the two services of a call, such as edge(\"login-api\", \"DynamoDB\"); it has {arguments}"),
            ));
        }
        if word == "id" {
            return Ok(());
        }
        if let Some(brace) = self.peek().filter(|next| next.kind == Kind::Open('{')).cloned() {
            self.at += 1;
            self.or()?;
            self.close(&brace, '}')?;
        }
        Ok(())
    }

    fn compare_next(&mut self) -> Option<Token> {
        let next = self
            .peek()
            .filter(|next| matches!(next.kind, Kind::Compare(_)))?
            .clone();
        self.at += 1;
        Some(next)
    }

    fn any_compare_next(&mut self) -> Option<Token> {
        let next = self
            .peek()
            .filter(|next| matches!(next.kind, Kind::Compare(_)) || is_text_operator(next))?
            .clone();
        self.at += 1;
        Some(next)
    }

    fn require_compare(&mut self, token: &Token, word: &str, example: &str) -> Result<Token, SyntaxError> {
        match self.compare_next() {
            Some(compare) => Ok(compare),
            None => Err(match self.peek() {
                Some(next) => self.error_at(
                    next,
                    format!("expected =, !=, <, <=, > or >= after `{word}`, found {}; write, for example, {word} {example}", next.shown()),
                ),
                None => SyntaxError {
                    message: format!("`{word}` needs a comparison, such as {word} {example}"),
                    at: token.span,
                },
            }),
        }
    }

    fn string_compare(&mut self, token: &Token, word: &str) -> Result<Token, SyntaxError> {
        let next = self.peek().cloned();
        match next {
            Some(next) if is_text_operator(&next) || matches!(next.kind, Kind::Compare("=" | "!=")) => {
                self.at += 1;
                Ok(next)
            }
            Some(next) => Err(self.error_at(
                &next,
                format!(
                    "expected =, !=, CONTAINS, BEGINSWITH or ENDSWITH after `{word}`, found {}",
                    next.shown()
                ),
            )),
            None => Err(SyntaxError {
                message: format!("`{word}` needs a comparison, such as {word} CONTAINS \"/login\""),
                at: token.span,
            }),
        }
    }

    fn value(&mut self, compare: &Token, what: &str) -> Result<Token, SyntaxError> {
        self.next()
            .ok_or_else(|| self.ends_early(&format!("add {what} after `{}`", compare.text)))
    }
}

fn is_text_operator(token: &Token) -> bool {
    ["CONTAINS", "BEGINSWITH", "ENDSWITH"]
        .iter()
        .any(|operator| token.is_word(operator))
}

/// Says the word is not a keyword, and which keyword is nearest when one is close.
fn unknown_keyword(word: &str) -> String {
    let known = BOOLEAN.iter().chain(&NUMBER).chain(&STRING).chain(&FUNCTIONS);
    let nearest = known
        .map(|keyword| (edit_distance(&word.to_ascii_lowercase(), keyword), *keyword))
        .filter(|(distance, _)| *distance <= 2)
        .min();
    match nearest {
        Some((_, keyword)) => format!("`{word}` is not a filter keyword; did you mean `{keyword}`?"),
        None => format!(
            "`{word}` is not a filter keyword; use ok, error, fault, throttle, responsetime, duration, \
             http.status, http.url, http.method, user, annotation.NAME, service(\"name\") or edge(\"a\", \"b\")"
        ),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The part of `text` an error points at.
    fn pointed(text: &str) -> (String, String) {
        let error = check(text).unwrap_err();
        let part: String = text
            .chars()
            .skip(error.at.start as usize)
            .take((error.at.end - error.at.start) as usize)
            .collect();
        (part, error.message)
    }

    #[test]
    fn what_x_ray_documents_reads() {
        for text in [
            "",
            "responsetime > 5",
            "duration >= 5 AND duration <= 8",
            "service(\"api.example.com\") { fault = true OR responsetime > 2.5 } AND annotation.account = \"12345\"",
            "edge(\"api.example.com\", \"backend.example.com\") { fault = true }",
            "http.url BEGINSWITH \"http://api.example.com/\" AND http.url CONTAINS \"/v2/\" AND !service(\"api.example.com\")",
            "ok !partial duration <3",
            "service(id(name: \"DynamoDB\", type: \"AWS::DynamoDB::Table\")) { error }",
            "http.status = 404 OR (fault AND user = \"u42\")",
            "annotation.clinic = \"north\" && annotation.retried",
            "rootcause.fault.entity.exception.message CONTAINS \"timeout\"",
            "service() { fault }",
        ] {
            assert_eq!(check(text), Ok(()), "{text}");
        }
    }

    #[test]
    fn errors_point_at_the_wrong_part_and_say_what_to_write() {
        let cases: &[(&str, &str, &str)] = &[
            ("responsetime > fast", "fast", "compared with a number"),
            ("http.url CONTAINS login", "login", "double quotes"),
            ("respnsetime > 2", "respnsetime", "did you mean `responsetime`"),
            ("fault AND (error OR throttle", "(", "never closed"),
            ("service(\"login-api\") { fault", "{", "never closed"),
            ("http.status 404", "404", "expected =, !=, <"),
            ("error = maybe", "maybe", "true or false"),
            ("edge(\"login-api\") { fault }", "edge", "two services"),
            ("annotation. = \"x\"", "annotation.", "a name after the dot"),
            ("ok ) fault", ")", "does not continue"),
            ("fault # comment", "#", "no meaning"),
            ("AND fault", "AND", "needs a condition before it"),
        ];
        for (text, part, says) in cases {
            let (found, message) = pointed(text);
            assert_eq!(&found, part, "{text}: {message}");
            assert!(message.contains(says), "{text}: {message}");
        }
    }

    #[test]
    fn an_unfinished_filter_points_at_its_end() {
        let error = check("fault AND").unwrap_err();
        assert_eq!(error.at, TextSpan { start: 9, end: 9 });
        assert!(error.message.contains("ends after `AND`"), "{}", error.message);
        let error = check("user = \"open").unwrap_err();
        assert_eq!(error.at, TextSpan { start: 7, end: 12 });
    }

    #[test]
    fn nesting_has_a_limit() {
        let deep = format!("{}ok{}", "(".repeat(100), ")".repeat(100));
        assert!(check(&deep).unwrap_err().message.contains("nests deeper"));
        let negations = format!("{}ok", "!".repeat(100));
        assert!(check(&negations).is_err());
    }
}
