//! Scratch databases of SQL targets never outlive their run, even a killed one.

mod common;

use mysql_async::prelude::Queryable;

/// A scratch database nobody holds (its run was killed while it loaded a target) is
/// dropped by the next run that loads a target; one whose owner is alive is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_scratch_databases_are_dropped_by_the_next_target_load() {
    let db = common::db().await;
    let abandoned = format!("schema_sync_scratch_dead_{}", std::process::id());
    let exists = |name: String| {
        let pool = db.admin.clone();
        async move {
            let mut conn = pool.get_conn().await.unwrap_or_else(|e| panic!("{e}"));
            let rows: Vec<String> = conn
                .exec(
                    "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                    (name,),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            !rows.is_empty()
        }
    };
    db.admin_sql(&format!("CREATE DATABASE `{abandoned}`"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(exists(abandoned.clone()).await);
    let _ = db.target("CREATE TABLE t (id INT PRIMARY KEY);").await;
    let gone = !exists(abandoned.clone()).await;
    let _ = db
        .admin_sql(&format!("DROP DATABASE IF EXISTS `{abandoned}`"))
        .await;
    assert!(
        gone,
        "the abandoned scratch database {abandoned} is still there"
    );
}
