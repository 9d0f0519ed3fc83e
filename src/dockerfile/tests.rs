//! Parser and mapping cases (the daemon-built images are in tests/dockerfile_map.rs).

use super::map::{self, Target, parse_history};
use super::*;
use crate::model::HistoryItem;

const ALL: &str = r#"# syntax=docker/dockerfile:1
# check=skip=JSONArgsRecommended
ARG BASE=busybox
ARG TAG
from ${BASE}:${TAG:-latest} AS build
ARG X=1
RUN echo a \
  # a comment inside

  && echo b
COPY --link --chmod=755 --from=0 /a /b
RUN --mount=type=cache,target=/root/.cache echo hi # not a comment
RUN <<EOF
echo one
echo two
EOF
COPY <<-"EOT" /app/x
	hello $X
	EOT
ONBUILD RUN echo onb
CMD ["sh", "-c", "echo"]

FROM build
ENV A=1 B="two words"
WORKDIR /app/$A
"#;

#[test]
fn every_case_parses() {
    let df = parse(ALL);
    assert!(df.warnings.is_empty(), "{:?}", df.warnings);
    assert_eq!(df.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(
        df.directives.check.as_deref(),
        Some("skip=JSONArgsRecommended")
    );
    assert_eq!(df.directives.escape, '\\');
    let kw: Vec<(&str, usize, usize)> = df
        .instructions
        .iter()
        .map(|i| (i.keyword.as_str(), i.line, i.end_line))
        .collect();
    assert_eq!(
        kw,
        vec![
            ("ARG", 3, 3),
            ("ARG", 4, 4),
            ("FROM", 5, 5),
            ("ARG", 6, 6),
            ("RUN", 7, 10),
            ("COPY", 11, 11),
            ("RUN", 12, 12),
            ("RUN", 13, 16),
            ("COPY", 17, 19),
            ("ONBUILD", 20, 20),
            ("CMD", 21, 21),
            ("FROM", 23, 23),
            ("ENV", 24, 24),
            ("WORKDIR", 25, 25),
        ]
    );
    let i = &df.instructions;
    assert_eq!(i[0].stage, None);
    assert_eq!(i[4].stage, Some(0));
    assert_eq!(i[4].text, "RUN echo a   && echo b");
    assert_eq!(i[5].flag("link"), Some(""));
    assert_eq!(i[5].flag("chmod"), Some("755"));
    assert_eq!(i[5].flag("from"), Some("0"));
    assert_eq!(i[5].args, "/a /b");
    assert_eq!(i[6].flag("mount"), Some("type=cache,target=/root/.cache"));
    assert_eq!(i[6].args, "echo hi # not a comment");
    assert_eq!(i[7].heredocs.len(), 1);
    assert_eq!(i[7].heredocs[0].name, "EOF");
    assert_eq!(i[7].heredocs[0].body, "echo one\necho two\n");
    let h = &i[8].heredocs[0];
    assert_eq!(
        (h.name.as_str(), h.strip_tabs, h.quoted),
        ("EOT", true, true)
    );
    assert_eq!(h.body, "hello $X\n");
    assert_eq!(i[9].args, "RUN echo onb");
    assert_eq!(
        i[10].json,
        Some(vec!["sh".to_string(), "-c".into(), "echo".into()])
    );
    assert_eq!(df.stages.len(), 2);
    assert_eq!(df.stages[0].name.as_deref(), Some("build"));
    assert_eq!(df.stages[0].from, "busybox:latest");
    assert_eq!(df.stages[1].parent, Some(0));
    assert_eq!(df.stage_label(&i[13]).as_deref(), Some("1"));
    assert_eq!(df.final_chain(), vec![0, 1]);
}

#[test]
fn backtick_escape_and_windows_line_ends() {
    let df = parse("# escape=`\r\nFROM x\r\nRUN echo a `\r\n  b\r\nRUN dir c:\\\r\n");
    assert_eq!(df.directives.escape, '`');
    assert_eq!(df.instructions[1].text, "RUN echo a   b");
    assert_eq!(
        (df.instructions[1].line, df.instructions[1].end_line),
        (3, 4)
    );
    // With ` as the escape, a trailing backslash is a path, not a continuation.
    assert_eq!(df.instructions[2].text, "RUN dir c:\\");
}

#[test]
fn directives_only_at_the_top() {
    let df = parse("FROM x\n# escape=`\nRUN a `\n");
    assert_eq!(df.directives.escape, '\\');
    let df = parse("# a comment\n# escape=`\nFROM x\n");
    assert_eq!(df.directives.escape, '\\');
}

#[test]
fn syntax_errors_are_warnings_with_lines() {
    let df =
        parse("FROM x\nRUN echo ok\nFROOM bad\nENV A=1\nRUN echo \"unterminated\nWORKDIR /w\n");
    assert_eq!(df.warnings.len(), 1, "{:?}", df.warnings);
    assert!(df.warnings[0].starts_with("line 3:"), "{:?}", df.warnings);
    let kws: Vec<&str> = df.instructions.iter().map(|i| i.keyword.as_str()).collect();
    assert_eq!(kws, vec!["FROM", "RUN", "ENV", "RUN", "WORKDIR"]);
    // Garbage of every kind: never a panic.
    for junk in [
        "",
        "\n\n",
        "RUN",
        "FROM",
        "<<EOF",
        "RUN <<EOF\nno end",
        "COPY --from= /",
        "\u{0}\u{1b}[31m",
        "FROM x\nRUN [\"unterminated",
        "ONBUILD ONBUILD",
        "# escape=`\nRUN `",
    ] {
        let _ = parse(junk);
    }
}

#[test]
fn same_instructions_as_parse_dockerfile() {
    // A second opinion: the pure-Rust parser sees the same instructions on the same lines.
    let other = parse_dockerfile::parse(ALL).expect("parse-dockerfile parses it");
    let theirs: Vec<(String, usize)> = other
        .instructions
        .iter()
        .map(|i| {
            let json = serde_json::to_value(i).unwrap();
            let kind = json["kind"].as_str().unwrap_or("").to_ascii_uppercase();
            let start = json[kind.to_ascii_lowercase()]["span"]["start"]
                .as_u64()
                .unwrap_or_else(|| panic!("no keyword span in {json}"));
            let line = ALL[..start as usize].matches('\n').count() + 1;
            (kind, line)
        })
        .collect();
    let ours: Vec<(String, usize)> = parse(ALL)
        .instructions
        .iter()
        .map(|i| (i.keyword.clone(), i.line))
        .collect();
    assert_eq!(ours, theirs);
}

fn hist(entries: &[(&str, bool)]) -> Vec<HistoryItem> {
    entries
        .iter()
        .map(|(c, empty)| HistoryItem {
            created_by: c.to_string(),
            empty_layer: *empty,
            ..Default::default()
        })
        .collect()
}

#[test]
fn history_strings() {
    let h = parse_history("/bin/sh -c #(nop)  ENV A=1");
    assert_eq!((h.keyword.as_str(), h.body.as_str()), ("ENV", "A=1"));
    let h = parse_history("|2 A=1 B=2 /bin/sh -c echo $A");
    assert_eq!(h.keyword, "RUN");
    assert_eq!(h.body, "/bin/sh -c echo $A");
    assert_eq!(
        h.build_args,
        vec![("A".into(), "1".into()), ("B".into(), "2".into())]
    );
    let h = parse_history("RUN |1 X=1 /bin/sh -c make # buildkit");
    assert_eq!(
        (h.keyword.as_str(), h.body.as_str(), h.buildkit),
        ("RUN", "/bin/sh -c make", true)
    );
    let h = parse_history("COPY . . # buildkit");
    assert_eq!((h.keyword.as_str(), h.body.as_str()), ("COPY", ". ."));
    assert_eq!(parse_history("").keyword, "");
}

#[test]
fn legacy_history_maps_with_build_args_and_base() {
    let df = parse(
        "ARG V=1\nFROM base:${V}\nARG V\nARG N=2\nENV HOME=/h P=$N\nWORKDIR $HOME\nCOPY . .\nRUN echo $N \\\n   && true\nCMD echo hi\n",
    );
    let h = hist(&[
        ("/bin/sh -c #(nop) ADD file:abc in / ", false),
        ("/bin/sh -c #(nop)  CMD [\"sh\"]", true),
        ("/bin/sh -c #(nop)  ARG V", true),
        ("/bin/sh -c #(nop)  ARG N=2", true),
        ("/bin/sh -c #(nop)  ENV HOME=/h P=7", true),
        ("/bin/sh -c #(nop) WORKDIR /h", false),
        (
            &format!("/bin/sh -c #(nop) COPY dir:{} in . ", "a".repeat(64)),
            false,
        ),
        ("|2 V=3 N=7 /bin/sh -c echo $N    && true", false),
        (
            "/bin/sh -c #(nop)  CMD [\"/bin/sh\" \"-c\" \"echo hi\"]",
            true,
        ),
    ]);
    let m = map::map_history(&df, &h, &serde_json::Value::Null);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    assert_eq!(m.history[0], Some(Target::Base));
    assert_eq!(m.history[1], Some(Target::Base));
    let lines: Vec<usize> = (2..9)
        .map(|k| df.instructions[m.instruction_of_history(k).unwrap()].line)
        .collect();
    assert_eq!(lines, vec![3, 4, 5, 6, 7, 8, 10]);
    assert_eq!(m.base_image.as_deref(), Some("base:3"));
}

#[test]
fn buildkit_history_maps_heredocs_and_stages() {
    let df = parse(
        "FROM b AS build\nRUN <<EOF\necho one\necho two\nEOF\nFROM build\nCOPY --from=build /o /o\nCOPY <<EOT /x\nhi\nEOT\nRUN <<A cat >/f\nbody\nA\n",
    );
    let h = hist(&[
        ("/bin/sh -c #(nop) ADD file:abc in / ", false),
        ("RUN /bin/sh -c echo one\necho two\n # buildkit", false),
        ("COPY --from=build /o /o # buildkit", false),
        ("COPY <<EOT /x # buildkit", false),
        ("RUN /bin/sh -c <<A cat >/f\nbody\nA # buildkit", false),
    ]);
    let m = map::map_history(&df, &h, &serde_json::Value::Null);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let lines: Vec<Option<usize>> = (0..5)
        .map(|k| m.instruction_of_history(k).map(|i| df.instructions[i].line))
        .collect();
    assert_eq!(lines, vec![None, Some(2), Some(7), Some(8), Some(11)]);
    assert!(m.is_base_history(0));
}

#[test]
fn a_mismatch_stops_the_mapping_and_says_where() {
    let df = parse("FROM b\nRUN echo one\nRUN echo CHANGED\nRUN echo three\n");
    let h = hist(&[
        ("base", false),
        ("/bin/sh -c echo one", false),
        ("/bin/sh -c echo two", false),
        ("/bin/sh -c echo three", false),
    ]);
    let m = map::map_history(&df, &h, &serde_json::Value::Null);
    assert_eq!(m.instruction_of_history(3), Some(3));
    assert_eq!(m.history[2], None);
    assert_eq!(m.history[1], None);
    assert_eq!(m.history[0], None, "no base is guessed after a mismatch");
    assert_eq!(m.warnings.len(), 1);
    assert!(
        m.warnings[0].contains("from line 3 on"),
        "{}",
        m.warnings[0]
    );
}

#[test]
fn random_input_never_panics_and_lines_stay_in_the_file() {
    const TOKENS: &[&str] = &[
        "\n",
        "\r\n",
        " ",
        "\t",
        "\\",
        "`",
        "#",
        "# escape=`\n",
        "# syntax=x\n",
        "<<EOF",
        "<<-'E'",
        "EOF",
        "E",
        "RUN ",
        "run ",
        "FROM ",
        "COPY ",
        "ADD ",
        "ENV ",
        "ARG ",
        "ONBUILD ",
        "CMD ",
        "AS ",
        "--from=",
        "--mount=type=cache,target=/x ",
        "${",
        "}",
        ":-",
        ":+",
        "$A",
        "A=1 ",
        "\"",
        "'",
        "[",
        "]",
        "\"x\",",
        "é",
        "\u{1b}[2J",
        ".",
        "/app",
        "0",
    ];
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let n = (next() % 60) as usize;
        let text: String = (0..n)
            .map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize])
            .collect();
        let df = parse(&text);
        let lines = text.split('\n').count();
        for i in &df.instructions {
            assert!(
                i.line >= 1 && i.line <= i.end_line && i.end_line <= lines,
                "{text:?}: {i:?}"
            );
            assert_eq!(i.keyword, i.keyword.to_ascii_uppercase());
        }
        let history: Vec<HistoryItem> = (0..(next() % 6))
            .map(|_| HistoryItem {
                created_by: (0..(next() % 8))
                    .map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize])
                    .collect(),
                ..Default::default()
            })
            .collect();
        let m = map::map_history(&df, &history, &serde_json::Value::Null);
        assert_eq!(m.history.len(), history.len());
    }
}

#[test]
fn an_image_built_with_target_maps_to_that_stage() {
    let df = parse(
        "FROM b AS build\nRUN make\nFROM build AS test\nRUN make test\nFROM scratch\nCOPY --from=build /o /o\n",
    );
    let h = hist(&[
        ("base", false),
        ("/bin/sh -c make", false),
        ("/bin/sh -c make test", false),
    ]);
    let m = map::map_history(&df, &h, &serde_json::Value::Null);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    assert_eq!(m.target, Some(1));
    assert_eq!(m.instruction_of_history(2), Some(3));
    assert_eq!(m.instruction_of_history(1), Some(1));
    assert!(m.is_base_history(0));
    // A stage with nothing to match is not taken for the target.
    let df = parse("FROM b AS base\nFROM base\nRUN other\n");
    let m = map::map_history(
        &df,
        &hist(&[("base", false), ("/bin/sh -c make", false)]),
        &serde_json::Value::Null,
    );
    assert!(m.mismatch.is_some());
    assert_eq!(m.warnings.len(), 1);
}

#[test]
fn labels_of_docker_build_label_are_not_the_dockerfiles() {
    let df = parse("FROM b\nRUN make\nCMD [\"sh\"]\n");
    let h = hist(&[
        ("base", false),
        ("/bin/sh -c make", false),
        ("/bin/sh -c #(nop)  CMD [\"sh\"]", true),
        ("/bin/sh -c #(nop)  LABEL org.example.built-by=ci", true),
    ]);
    let m = map::map_history(&df, &h, &serde_json::Value::Null);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    assert_eq!(m.history[3], None);
    assert_eq!(m.instruction_of_history(2), Some(2));
    assert_eq!(m.instruction_of_history(1), Some(1));
    assert!(m.is_base_history(0));
    // A LABEL below the Dockerfile's instructions is the base image's.
    let h = hist(&[
        ("base", false),
        ("/bin/sh -c #(nop)  LABEL x=1", true),
        ("/bin/sh -c make", false),
        ("/bin/sh -c #(nop)  CMD [\"sh\"]", true),
    ]);
    let m = map::map_history(&df, &h, &serde_json::Value::Null);
    assert!(m.mismatch.is_none(), "{:?}", m.warnings);
    assert_eq!(
        m.history[1],
        Some(Target::Base),
        "below the chain: the base's"
    );
}
