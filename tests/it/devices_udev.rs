//! The udev rules give every lane device a /dev/lane/ name and the group the service joins
//! (the same group in the rules, sysusers.d and the unit's SupplementaryGroups=).

const RULES: &str = include_str!("../../systemd/99-lane-agent.rules");
const SYSUSERS: &str = include_str!("../../systemd/lane-agent.sysusers.conf");
const UNIT: &str = include_str!("../../systemd/lane-agent.service");

fn rules() -> Vec<&'static str> {
    let mut rules = Vec::new();
    for line in RULES.lines() {
        assert!(!line.ends_with('\\'), "keep each rule on one line: {line}");
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        rules.push(line);
    }
    rules
}

#[test]
fn every_device_rule_names_a_lane_link_and_the_service_group() {
    let group = SYSUSERS
        .lines()
        .find_map(|l| {
            l.strip_prefix("g ")
                .and_then(|rest| rest.split_whitespace().next())
        })
        .expect("sysusers creates a group");
    assert!(
        UNIT.lines()
            .any(|l| l.trim() == format!("SupplementaryGroups={group}"))
    );
    let device_rules: Vec<_> = rules()
        .into_iter()
        .filter(|r| r.contains("SYMLINK"))
        .collect();
    assert!(device_rules.len() >= 4);
    for rule in &device_rules {
        assert!(rule.contains("SYMLINK+=\"lane/"), "{rule}");
        assert!(rule.contains(&format!("GROUP=\"{group}\"")), "{rule}");
        assert!(rule.contains("MODE=\"0660\""), "{rule}");
        assert!(
            rule.contains("SUBSYSTEM==\"tty\"") || rule.contains("SUBSYSTEM==\"input\""),
            "{rule}"
        );
    }
    for link in ["lane/terminal", "lane/msr", "lane/scanner", "lane/wedge"] {
        assert!(device_rules.iter().any(|r| r.contains(link)), "{link}");
    }
}

#[test]
fn rules_use_only_well_formed_key_operators() {
    for rule in rules() {
        if rule.starts_with("LABEL=") {
            continue;
        }
        for part in rule.split(", ") {
            let ok =
                ["==", "!=", "+=", "="].iter().any(|op| part.contains(op)) && part.ends_with('"');
            assert!(ok, "malformed key in: {part}");
        }
    }
}
