//! CI's smoke run of the benchmark: every scenario for a moment, on SQLite
//! and, when TEST_DATABASE_URL is set, on PostgreSQL too. It checks that the
//! tool works end to end with no failed call and writes its report; it
//! asserts no speed, which a shared machine cannot promise.

use std::process::Command;

#[test]
fn every_scenario_runs_without_a_failed_call_and_is_reported() {
    let report = std::env::temp_dir().join(format!("bench-smoke-{}.md", std::process::id()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_bench"));
    command
        .args(["--duration", "1s", "--warmup", "300ms", "--runs", "1"])
        .args(["--clients", "4", "--connections", "2", "--users", "10"])
        .args(["--tasks-per-user", "5", "--watchers-per-user", "3"])
        .args(["--watch-writes-per-second", "50"])
        .args([
            "--attacker-accounts",
            "2",
            "--attacker-clients",
            "4",
            "--markdown",
        ])
        .arg(&report)
        .env_remove("DATABASE_URL");
    let postgres = std::env::var("TEST_DATABASE_URL").ok();
    if let Some(url) = &postgres {
        command.env("DATABASE_URL", url);
    }
    let output = command.output().expect("the bench binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let markdown = std::fs::read_to_string(&report).expect("the report was written");
    let _ = std::fs::remove_file(&report);
    for scenario in [
        "floor",
        "ListTasks (20) direct",
        "via gateway, gRPC",
        "grpc-web",
        "CreateTask",
        "UpdateTask",
        "ValidateToken",
        "8 Login",
        "login storm",
        "WatchTasks fan-out",
    ] {
        assert!(
            markdown.contains(scenario),
            "{scenario} missing from\n{markdown}"
        );
    }
    assert!(
        markdown.contains("| Target | Measured | Met |"),
        "{markdown}"
    );
    if postgres.is_some() {
        assert!(
            markdown.contains("| 2 ListTasks (20) direct | PostgreSQL |"),
            "{markdown}"
        );
        assert!(
            markdown.contains("ListTasks direct / floor, PostgreSQL"),
            "{markdown}"
        );
    }
}
