//! Lexer for Go templates: splits text from `{{ }}` actions, applies trim
//! markers, drops comments and tokenizes what is inside actions.

use serde_json::Number;

use super::literal::{parse_number, unescape};

/// Words with a meaning of their own inside an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    If,
    Else,
    End,
    Range,
    With,
    Break,
    Continue,
    Define,
    Template,
    Block,
}

impl Keyword {
    fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "if" => Self::If,
            "else" => Self::Else,
            "end" => Self::End,
            "range" => Self::Range,
            "with" => Self::With,
            "break" => Self::Break,
            "continue" => Self::Continue,
            "define" => Self::Define,
            "template" => Self::Template,
            "block" => Self::Block,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::If => "if",
            Self::Else => "else",
            Self::End => "end",
            Self::Range => "range",
            Self::With => "with",
            Self::Break => "break",
            Self::Continue => "continue",
            Self::Define => "define",
            Self::Template => "template",
            Self::Block => "block",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Space,
    Ident(String),
    Keyword(Keyword),
    /// `.Name`, stored without the dot.
    Field(String),
    Dot,
    /// `$` or `$name`, stored with the `$`.
    Var(String),
    Str(String),
    Number(Number),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Comma,
    Declare,
    Assign,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: usize,
    pub end: usize,
}

/// A lexical error at byte offset `pos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    pub pos: usize,
    pub message: String,
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

/// Whitespace as Go templates define it for trimming and separating.
pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn err<T>(pos: usize, message: impl Into<String>) -> Result<T, LexError> {
    Err(LexError {
        pos,
        message: message.into(),
    })
}

/// Tokenizes a whole template. The last token is always `Eof`.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let mut lx = Lexer {
        src,
        pos: 0,
        toks: Vec::new(),
        trim_next: false,
    };
    lx.run()?;
    lx.toks.push(Token {
        tok: Tok::Eof,
        pos: src.len(),
        end: src.len(),
    });
    Ok(lx.toks)
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    toks: Vec<Token>,
    /// The previous action ended with ` -}}`: trim the next text's leading space.
    trim_next: bool,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn push(&mut self, tok: Tok, pos: usize) {
        self.toks.push(Token {
            tok,
            pos,
            end: self.pos,
        });
    }

    fn run(&mut self) -> Result<(), LexError> {
        loop {
            let next = self.rest().find(LEFT).map(|i| self.pos + i);
            let text_end = next.unwrap_or(self.src.len());
            let mut text = &self.src[self.pos..text_end];
            if std::mem::take(&mut self.trim_next) {
                text = text.trim_start_matches(is_space);
            }
            // `{{- ` trims the text before it; `{{-3}}` is a number.
            let after = &self.src[text_end..];
            let left_trim = next.is_some()
                && after[LEFT.len()..].starts_with('-')
                && after[LEFT.len() + 1..].starts_with(is_space);
            if left_trim {
                text = text.trim_end_matches(is_space);
            }
            if !text.is_empty() {
                self.toks.push(Token {
                    tok: Tok::Text(text.to_owned()),
                    pos: text_end - text.len(),
                    end: text_end,
                });
            }
            let Some(start) = next else { return Ok(()) };
            self.pos = start + LEFT.len();
            // After a trim marker, a comment may only follow its one space.
            let comment_at = if left_trim { self.pos + 2 } else { self.pos };
            if self.src[comment_at..].starts_with("/*") {
                self.comment(start, comment_at)?;
                continue;
            }
            self.push(Tok::LeftDelim, start);
            if left_trim {
                self.pos += 1;
            }
            self.inside_action(start)?;
        }
    }

    fn comment(&mut self, start: usize, at: usize) -> Result<(), LexError> {
        let Some(close) = self.src[at + 2..].find("*/") else {
            return err(start, "unclosed comment");
        };
        self.pos = at + 2 + close + 2;
        let rest = self.rest();
        if rest.starts_with(is_space) && rest[1..].starts_with("-}}") {
            self.trim_next = true;
            self.pos += 4;
        } else if rest.starts_with(RIGHT) {
            self.pos += 2;
        } else {
            return err(start, "comment ends before closing delimiter");
        }
        Ok(())
    }

    fn inside_action(&mut self, action_start: usize) -> Result<(), LexError> {
        let mut parens = 0usize;
        loop {
            let start = self.pos;
            if self.rest().starts_with(RIGHT) {
                if parens > 0 {
                    return err(start, "unclosed left paren");
                }
                self.pos += RIGHT.len();
                self.push(Tok::RightDelim, start);
                return Ok(());
            }
            let Some(c) = self.peek() else {
                return err(action_start, "unclosed action");
            };
            match c {
                c if is_space(c) => {
                    let spaces = self.rest().len() - self.rest().trim_start_matches(is_space).len();
                    self.pos += spaces;
                    if self.rest().starts_with("-}}") {
                        if parens > 0 {
                            return err(start, "unclosed left paren");
                        }
                        self.pos += 3;
                        self.trim_next = true;
                        self.push(Tok::RightDelim, start);
                        return Ok(());
                    }
                    self.push(Tok::Space, start);
                }
                '|' => self.single(Tok::Pipe),
                ',' => self.single(Tok::Comma),
                '=' => self.single(Tok::Assign),
                '(' => {
                    parens += 1;
                    self.single(Tok::LParen);
                }
                ')' => {
                    if parens == 0 {
                        return err(start, "unexpected right paren");
                    }
                    parens -= 1;
                    self.single(Tok::RParen);
                }
                ':' => {
                    if !self.rest().starts_with(":=") {
                        return err(start, "expected :=");
                    }
                    self.pos += 2;
                    self.push(Tok::Declare, start);
                }
                '"' => self.quoted()?,
                '`' => self.raw_quoted()?,
                '\'' => self.char_constant()?,
                '$' => {
                    self.pos += 1;
                    let name = self.word();
                    self.check_terminator()?;
                    self.push(Tok::Var(format!("${name}")), start);
                }
                '.' if !self.rest()[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                    self.pos += 1;
                    let name = self.word();
                    let tok = if name.is_empty() {
                        Tok::Dot
                    } else {
                        Tok::Field(name)
                    };
                    self.check_terminator()?;
                    self.push(tok, start);
                }
                '.' | '+' | '-' | '0'..='9' => self.number()?,
                c if is_alnum(c) => {
                    let word = self.word();
                    let tok = match word.as_str() {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        w => Keyword::from_word(w).map_or(Tok::Ident(word.clone()), Tok::Keyword),
                    };
                    self.check_terminator()?;
                    self.push(tok, start);
                }
                c => {
                    return err(
                        start,
                        format!("unrecognized character in action: U+{:04X} {c:?}", c as u32),
                    )
                }
            }
        }
    }

    fn single(&mut self, tok: Tok) {
        let start = self.pos;
        self.pos += 1;
        self.push(tok, start);
    }

    fn word(&mut self) -> String {
        let rest = &self.src[self.pos..];
        let len = rest.len() - rest.trim_start_matches(is_alnum).len();
        self.pos += len;
        rest[..len].to_owned()
    }

    /// Go requires a word to be followed by a separator, so `.a-b` is an error.
    fn check_terminator(&self) -> Result<(), LexError> {
        match self.peek() {
            None => Ok(()),
            Some(c) if is_space(c) || ".,|:()".contains(c) => Ok(()),
            Some(_) if self.rest().starts_with(RIGHT) => Ok(()),
            Some(c) => err(self.pos, format!("bad character U+{:04X} {c:?}", c as u32)),
        }
    }

    fn quoted(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let mut i = self.pos + 1;
        let bytes = self.src.as_bytes();
        loop {
            match bytes.get(i) {
                None | Some(b'\n') => return err(start, "unterminated quoted string"),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let body = self.src.get(start + 1..i).unwrap_or("");
        let value = unescape(body, '"').map_err(|m| LexError {
            pos: start,
            message: m,
        })?;
        self.pos = i + 1;
        self.push(Tok::Str(value), start);
        Ok(())
    }

    fn raw_quoted(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let Some(len) = self.src[start + 1..].find('`') else {
            return err(start, "unterminated raw quoted string");
        };
        let value = self.src[start + 1..start + 1 + len].replace('\r', "");
        self.pos = start + len + 2;
        self.push(Tok::Str(value), start);
        Ok(())
    }

    fn char_constant(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let mut i = start + 1;
        let bytes = self.src.as_bytes();
        loop {
            match bytes.get(i) {
                None | Some(b'\n') => return err(start, "unterminated character constant"),
                Some(b'\\') => i += 2,
                Some(b'\'') => break,
                Some(_) => i += 1,
            }
        }
        let body = self.src.get(start + 1..i).unwrap_or("");
        let text = unescape(body, '\'').map_err(|m| LexError {
            pos: start,
            message: m,
        })?;
        let mut chars = text.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return err(start, format!("malformed character constant: '{body}'"));
        };
        self.pos = i + 1;
        self.push(Tok::Number(Number::from(u32::from(c))), start);
        Ok(())
    }

    fn number(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let b = self.rest().as_bytes();
        let at = |i: usize, set: &[u8]| b.get(i).is_some_and(|c| set.contains(c));
        let mut i = usize::from(at(0, b"+-"));
        let (mut digits, mut exp): (&[u8], &[u8]) = (b"0123456789_", b"eE");
        if at(i, b"0") {
            i += 1;
            if at(i, b"xX") {
                (digits, exp) = (b"0123456789abcdefABCDEF_", b"pP");
                i += 1;
            } else if at(i, b"oO") {
                digits = b"01234567_";
                i += 1;
            } else if at(i, b"bB") {
                digits = b"01_";
                i += 1;
            }
        }
        while at(i, digits) {
            i += 1;
        }
        if at(i, b".") {
            i += 1;
            while at(i, digits) {
                i += 1;
            }
        }
        if at(i, exp) {
            i += 1;
            i += usize::from(at(i, b"+-"));
            while at(i, b"0123456789_") {
                i += 1;
            }
        }
        // Anything alphanumeric glued on (`3x`, `1i`) makes the number bad.
        while b
            .get(i)
            .is_some_and(|&c| c == b'_' || c.is_ascii_alphanumeric())
        {
            i += 1;
        }
        let text = &self.rest()[..i];
        let Some(n) = parse_number(text) else {
            return err(start, format!("bad number syntax: {text:?}"));
        };
        self.pos += i;
        self.push(Tok::Number(n), start);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src)
            .expect("template lexes")
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn splits_text_and_actions() {
        assert_eq!(
            toks("a {{.B.c $x}}"),
            [
                Tok::Text("a ".into()),
                Tok::LeftDelim,
                Tok::Field("B".into()),
                Tok::Field("c".into()),
                Tok::Space,
                Tok::Var("$x".into()),
                Tok::RightDelim,
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn trim_markers_need_a_space() {
        assert_eq!(
            toks("a \n{{- 1 -}}\n b{{-2}}"),
            [
                Tok::Text("a".into()),
                Tok::LeftDelim,
                Tok::Space,
                Tok::Number(1.into()),
                Tok::RightDelim,
                Tok::Text("b".into()),
                Tok::LeftDelim,
                Tok::Number((-2).into()),
                Tok::RightDelim,
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn comments_vanish_and_may_trim() {
        assert_eq!(
            toks("a {{- /* x */ -}} b{{/* y */}}"),
            [Tok::Text("a".into()), Tok::Text("b".into()), Tok::Eof]
        );
    }

    #[test]
    fn keywords_literals_and_punctuation() {
        assert_eq!(
            toks("{{if $i, $e := (len \"x\") | eq 'a' true nil}}"),
            [
                Tok::LeftDelim,
                Tok::Keyword(Keyword::If),
                Tok::Space,
                Tok::Var("$i".into()),
                Tok::Comma,
                Tok::Space,
                Tok::Var("$e".into()),
                Tok::Space,
                Tok::Declare,
                Tok::Space,
                Tok::LParen,
                Tok::Ident("len".into()),
                Tok::Space,
                Tok::Str("x".into()),
                Tok::RParen,
                Tok::Space,
                Tok::Pipe,
                Tok::Space,
                Tok::Ident("eq".into()),
                Tok::Space,
                Tok::Number(97.into()),
                Tok::Space,
                Tok::Bool(true),
                Tok::Space,
                Tok::Nil,
                Tok::RightDelim,
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn errors() {
        let msg = |src: &str| lex(src).expect_err("lexing fails").message;
        assert_eq!(msg("{{3x}}"), "bad number syntax: \"3x\"");
        assert_eq!(msg("{{!}}"), "unrecognized character in action: U+0021 '!'");
        assert_eq!(msg("{{/* x"), "unclosed comment");
        assert_eq!(msg("{{`abc"), "unterminated raw quoted string");
    }
}
