//! Temporary: dumps generated fixture files for review.
mod common;
#[test]
fn dump() {
    for name in common::FIXTURES {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/fixture-dump")
            .join(name);
        match quarry_codegen::generate_model(&common::model(name), &common::options(name)) {
            Ok(files) => {
                for f in files {
                    let p = dir.join(&f.path);
                    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                    std::fs::write(p, f.text).unwrap();
                }
            }
            Err(e) => println!("{name}: {e:#}"),
        }
    }
}
