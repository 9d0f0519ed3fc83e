//! Word processing the way BuildKit's shell lexer does it for the instructions it
//! expands itself (ENV, ARG, LABEL, COPY, ADD, WORKDIR, USER, FROM, …): quotes removed,
//! the escape character honoured, `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`,
//! `${VAR:+word}`, `${VAR+word}` and `${VAR:?msg}` substituted.

/// Variables in scope: name → value (`None`: declared without a value).
pub type Env = Vec<(String, Option<String>)>;

/// Stands for the value of a variable the Dockerfile does not define (set by the base
/// image): matched as "anything" by [`wild_eq`]. Enabled by an [`UNKNOWN_IS_WILDCARD`]
/// entry in the environment.
pub const WILDCARD: char = '\u{1}';
/// Environment entry name that turns unknown variables into [`WILDCARD`].
pub const UNKNOWN_IS_WILDCARD: &str = "\u{1}";

fn unknown_is_wildcard(env: &Env) -> bool {
    env.iter().any(|(k, _)| k == UNKNOWN_IS_WILDCARD)
}

/// `want` (which may hold [`WILDCARD`]s) equals `got`.
pub fn wild_eq(want: &str, got: &str) -> bool {
    if !want.contains(WILDCARD) {
        return want == got;
    }
    let pattern: Vec<String> = want.split(WILDCARD).map(regex::escape).collect();
    regex::Regex::new(&format!("^(?s:{})$", pattern.join(".*")))
        .map(|r| r.is_match(got))
        .unwrap_or(false)
}

/// The value of `name` in `env` (the last definition wins).
pub fn lookup<'a>(env: &'a Env, name: &str) -> Option<&'a Option<String>> {
    env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Set `name` in `env`, replacing an earlier definition.
pub fn set(env: &mut Env, name: &str, value: Option<String>) {
    env.retain(|(k, _)| k != name);
    env.push((name.to_string(), value));
}

/// Expand variables and remove quotes in one word (or a whole value).
pub fn process(word: &str, env: &Env, escape: char) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    process_into(&chars, &mut i, env, escape, &mut out, None, true);
    out
}

/// Expand variables only (no quote removal): for text compared as written.
pub fn expand_only(word: &str, env: &Env, escape: char) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    process_into(&chars, &mut i, env, escape, &mut out, None, false);
    out
}

fn process_into(
    c: &[char],
    i: &mut usize,
    env: &Env,
    escape: char,
    out: &mut String,
    stop: Option<char>,
    quotes: bool,
) {
    while *i < c.len() {
        let ch = c[*i];
        if Some(ch) == stop {
            return;
        }
        if ch == escape && *i + 1 < c.len() {
            if !quotes {
                out.push(ch);
            }
            out.push(c[*i + 1]);
            *i += 2;
            continue;
        }
        if quotes && ch == '\'' {
            *i += 1;
            while *i < c.len() && c[*i] != '\'' {
                out.push(c[*i]);
                *i += 1;
            }
            *i += 1;
            continue;
        }
        if quotes && ch == '"' {
            *i += 1;
            while *i < c.len() && c[*i] != '"' {
                if c[*i] == escape && *i + 1 < c.len() {
                    // Inside double quotes only \" \\ \$ lose the escape.
                    let n = c[*i + 1];
                    if n == '"' || n == escape || n == '$' {
                        out.push(n);
                    } else {
                        out.push(c[*i]);
                        out.push(n);
                    }
                    *i += 2;
                } else if c[*i] == '$' {
                    expand_var(c, i, env, escape, out);
                } else {
                    out.push(c[*i]);
                    *i += 1;
                }
            }
            *i += 1;
            continue;
        }
        if ch == '$' {
            expand_var(c, i, env, escape, out);
            continue;
        }
        out.push(ch);
        *i += 1;
    }
}

/// At a `$`: substitute the variable reference (or keep the `$`).
fn expand_var(c: &[char], i: &mut usize, env: &Env, escape: char, out: &mut String) {
    let start = *i;
    *i += 1;
    let name_char = |ch: char| ch.is_ascii_alphanumeric() || ch == '_';
    if *i < c.len() && c[*i] == '{' {
        *i += 1;
        let ns = *i;
        while *i < c.len() && name_char(c[*i]) {
            *i += 1;
        }
        let name: String = c[ns..*i].iter().collect();
        let value = lookup(env, &name).cloned().flatten();
        let unknown = lookup(env, &name).is_none() && unknown_is_wildcard(env);
        if *i < c.len() && c[*i] == '}' {
            *i += 1;
            if unknown {
                out.push(WILDCARD);
            } else {
                out.push_str(value.as_deref().unwrap_or(""));
            }
            return;
        }
        // ${NAME<op>word}
        let mut op = String::new();
        if *i < c.len() && c[*i] == ':' {
            op.push(':');
            *i += 1;
        }
        if *i < c.len() && matches!(c[*i], '-' | '+' | '?') {
            op.push(c[*i]);
            *i += 1;
        } else {
            // Not a form we know: keep the text as written.
            while *i < c.len() && c[*i] != '}' {
                *i += 1;
            }
            *i = (*i + 1).min(c.len());
            out.extend(&c[start..*i]);
            return;
        }
        let mut word = String::new();
        process_into(c, i, env, escape, &mut word, Some('}'), true);
        *i = (*i + 1).min(c.len());
        if unknown {
            out.push(WILDCARD);
            return;
        }
        let set = lookup(env, &name).is_some_and(|v| v.is_some());
        let nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
        let present = if op.starts_with(':') { nonempty } else { set };
        let r = match op.trim_start_matches(':') {
            "-" => {
                if present {
                    value.unwrap_or_default()
                } else {
                    word
                }
            }
            "+" => {
                if present {
                    word
                } else {
                    String::new()
                }
            }
            _ => value.unwrap_or_default(),
        };
        out.push_str(&r);
        return;
    }
    let ns = *i;
    while *i < c.len() && name_char(c[*i]) {
        *i += 1;
    }
    if *i == ns {
        out.push('$');
        return;
    }
    let name: String = c[ns..*i].iter().collect();
    if lookup(env, &name).is_none() && unknown_is_wildcard(env) {
        out.push(WILDCARD);
        return;
    }
    out.push_str(
        lookup(env, &name)
            .cloned()
            .flatten()
            .as_deref()
            .unwrap_or(""),
    );
}

/// Split on unquoted, unescaped whitespace (quotes and escapes kept in the words).
pub fn split_words(s: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut it = s.chars().peekable();
    let mut has = false;
    while let Some(ch) = it.next() {
        match quote {
            Some(q) => {
                cur.push(ch);
                if ch == escape && q == '"' {
                    if let Some(n) = it.next() {
                        cur.push(n);
                    }
                } else if ch == q {
                    quote = None;
                }
            }
            None => {
                if ch.is_whitespace() {
                    if has {
                        words.push(std::mem::take(&mut cur));
                        has = false;
                    }
                    continue;
                }
                has = true;
                cur.push(ch);
                if ch == escape {
                    if let Some(n) = it.next() {
                        cur.push(n);
                    }
                } else if ch == '"' || ch == '\'' {
                    quote = Some(ch);
                }
            }
        }
    }
    if has {
        words.push(cur);
    }
    words
}

/// `KEY=VALUE …` pairs (ENV, LABEL, ARG), or the legacy `KEY VALUE…` form of ENV/LABEL,
/// with the values processed. ARG names without `=` give `None`.
pub fn key_values(
    args: &str,
    env: &Env,
    escape: char,
    legacy_form: bool,
) -> Vec<(String, Option<String>)> {
    let words = split_words(args, escape);
    if words.is_empty() {
        return Vec::new();
    }
    if legacy_form && !words[0].contains('=') {
        let key = process(&words[0], env, escape);
        let rest = args.trim_start()[words[0].len()..].trim();
        return vec![(key, Some(process(rest, env, escape)))];
    }
    words
        .iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (process(k, env, escape), Some(process(v, env, escape))),
            None => (process(w, env, escape), None),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        vec![
            ("A".into(), Some("1".into())),
            ("E".into(), Some(String::new())),
            ("U".into(), None),
        ]
    }

    #[test]
    fn forms() {
        let e = env();
        assert_eq!(process("$A/${A}x", &e, '\\'), "1/1x");
        assert_eq!(process("${NO:-dflt}", &e, '\\'), "dflt");
        assert_eq!(process("${E:-dflt}", &e, '\\'), "dflt");
        assert_eq!(process("${E-dflt}", &e, '\\'), "");
        assert_eq!(process("${A:-dflt}", &e, '\\'), "1");
        assert_eq!(process("${A:+set}", &e, '\\'), "set");
        assert_eq!(process("${NO:+set}", &e, '\\'), "");
        assert_eq!(process("${U}", &e, '\\'), "");
        assert_eq!(process("\\$A '$A' \"$A b\"", &e, '\\'), "$A $A 1 b");
        assert_eq!(process("`$A", &e, '`'), "$A");
        assert_eq!(process("$", &e, '\\'), "$");
        assert_eq!(process("${A", &e, '\\'), "${A");
    }

    #[test]
    fn unknown_variables_as_wildcards() {
        let mut e = env();
        e.push((UNKNOWN_IS_WILDCARD.into(), None));
        let w = process("/opt/bin:$PATH:${A}", &e, '\\');
        assert!(wild_eq(&w, "/opt/bin:/usr/bin:/bin:1"));
        assert!(!wild_eq(&w, "/usr/bin:1"));
        assert!(wild_eq("plain", "plain") && !wild_eq("plain", "other"));
        // Without the marker, unknown variables are empty (BuildKit's behaviour).
        assert_eq!(process("x$PATH", &env(), '\\'), "x");
    }

    #[test]
    fn pairs() {
        let e = env();
        assert_eq!(
            key_values("X=$A Y=\"two words\" Z", &e, '\\', false),
            vec![
                ("X".into(), Some("1".into())),
                ("Y".into(), Some("two words".into())),
                ("Z".into(), None)
            ]
        );
        assert_eq!(
            key_values("X  some value", &e, '\\', true),
            vec![("X".into(), Some("some value".into()))]
        );
    }
}
