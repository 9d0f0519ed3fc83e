//! Registry responses: a manifest or index as sent (with the content type chosen by
//! the first byte) → `ManifestDoc` → platform choice and the load plan; the same bytes
//! as a reference (`RegistryRef`, `registry://`), a digest and a platform.
#![no_main]

use layerlens::source::ImageSource;
use layerlens::source::layout::Platform;
use layerlens::source::registry::load::{Resolved, pick_platform, plan};
use layerlens::source::registry::{Fetched, ManifestDoc, RegistryRef, facts, valid_digest};
use libfuzzer_sys::fuzz_target;

const TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/json",
    "",
];

fuzz_target!(|data: &[u8]| {
    let Some((&t, bytes)) = data.split_first() else {
        return;
    };
    let media_type = TYPES[t as usize % TYPES.len()].to_string();
    let digest = format!("sha256:{}", layerlens_fuzz::sha256_hex(bytes));
    let f = Fetched {
        bytes: bytes.to_vec(),
        digest: digest.clone(),
        media_type: media_type.clone(),
    };
    let text = String::from_utf8_lossy(bytes);
    let _ = valid_digest(&text);
    let _ = Platform::parse(&text);
    let _ = facts::registry_of(&text);
    let rref = match RegistryRef::parse(&text) {
        Ok(r) => {
            let _ = r.reference();
            let shown = r.to_string();
            // What it prints parses back to the same reference.
            let again = RegistryRef::parse(&shown);
            assert!(
                again.is_ok(),
                "{shown:?} (from {text:?}) does not parse again: {again:?}"
            );
            let _ = ImageSource::parse(&format!("registry://{text}"));
            r
        }
        Err(_) => RegistryRef::parse("registry.example/fuzz:latest").unwrap(),
    };
    let Ok(doc) = ManifestDoc::parse(&f) else {
        return;
    };
    let _ = doc.is_index(&media_type);
    let _ = pick_platform(&doc.manifests, None);
    let arm = Platform {
        os: "linux".into(),
        architecture: "arm64".into(),
        variant: Some("v8".into()),
    };
    let _ = pick_platform(&doc.manifests, Some(&arm));
    for d in doc.layers.iter().chain(&doc.manifests).chain(&doc.config) {
        let _ = valid_digest(&d.digest);
    }
    let resolved = Resolved {
        manifest_digest: digest,
        index_digest: None,
        manifest: doc,
        config: bytes.to_vec(),
    };
    let p = plan(&rref, &resolved);
    assert_eq!(p.layers.len(), resolved.manifest.layers.len());
});
