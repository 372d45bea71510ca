//! The gateway fails closed: without upstreams it refuses to start and says
//! what to set, instead of serving a door with nothing behind it.

#[tokio::test]
async fn without_upstreams_the_gateway_refuses_to_start_and_says_what_to_set() {
    let mut config: gateway::Config = service_runtime::config::defaults();
    let error = gateway::serve(
        config.clone(),
        testkit::listener().await,
        std::future::pending(),
    )
    .await
    .expect_err("a gateway without upstreams must not start");
    assert!(
        error.chain().contains("AUTH_UPSTREAMS is not set"),
        "{}",
        error.chain()
    );

    config.auth_upstreams = vec!["http://127.0.0.1:50051".into()];
    let error = gateway::serve(
        config.clone(),
        testkit::listener().await,
        std::future::pending(),
    )
    .await
    .expect_err("a gateway without task upstreams must not start");
    assert!(
        error.chain().contains("TASK_UPSTREAMS is not set"),
        "{}",
        error.chain()
    );

    config.task_upstreams = vec!["not a url".into()];
    let error = gateway::serve(config, testkit::listener().await, std::future::pending())
        .await
        .expect_err("an invalid upstream URL must not start");
    assert!(
        error
            .chain()
            .contains("TASK_UPSTREAMS: \"not a url\" is not a valid URL"),
        "{}",
        error.chain()
    );
}
