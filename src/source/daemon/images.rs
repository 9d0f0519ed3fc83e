//! Image references: validation, inspect, layer counts for the picker, and the name a
//! `docker save` is asked for.

use super::*;

// ---------------------------------------------------------------------------------
// Images.

/// Rejects references that are not Docker references before they reach a URL path.
pub(super) fn validate_reference(reference: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-/:@".contains(c);
    let valid = !reference.is_empty()
        && reference.len() <= 512
        && reference.chars().all(allowed)
        && !reference.starts_with(['-', '/', '.', ':', '@'])
        && reference.split('/').all(|seg| seg != "." && seg != "..");
    if valid {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid image reference {reference:?}: expected NAME[:TAG], NAME@DIGEST or an image id"
        )))
    }
}

pub(super) async fn inspect(
    docker: &Docker,
    host: &ResolvedHost,
    reference: &str,
) -> Result<DaemonImage> {
    let inspect = docker
        .inspect_image(reference)
        .await
        .map_err(|e| map_error(e, host, Op::Inspect(reference)))?;
    let id = inspect.id.filter(|id| !id.is_empty()).ok_or_else(|| {
        Error::other(format!(
            "the Docker daemon at {host} returned no id for {reference}"
        ))
    })?;
    Ok(DaemonImage {
        id,
        repo_tags: inspect.repo_tags.unwrap_or_default(),
        repo_digests: inspect.repo_digests.unwrap_or_default(),
        size: inspect
            .size
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0),
        os: inspect.os.unwrap_or_default(),
        architecture: inspect.architecture.unwrap_or_default(),
        created: inspect.created.filter(|c| !c.is_empty()),
        diff_ids: inspect.root_fs.and_then(|r| r.layers).unwrap_or_default(),
    })
}

/// Fills `layer_count` by inspecting images concurrently, until the time budget runs
/// out. Failures just leave `None`.
pub(super) async fn fill_layer_counts(docker: &Docker, images: &mut [ImageSummary]) {
    let deadline = tokio::time::Instant::now() + LAYER_COUNT_BUDGET;
    let ids: Vec<(usize, String)> = images
        .iter()
        .enumerate()
        .map(|(i, image)| (i, image.id.clone()))
        .collect();
    let mut lookups = futures_util::stream::iter(ids)
        .map(|(i, id)| {
            let docker = docker.clone();
            async move { (i, docker.inspect_image(&id).await) }
        })
        .buffer_unordered(LAYER_COUNT_CONCURRENCY);
    while let Ok(Some((i, result))) = tokio::time::timeout_at(deadline, lookups.next()).await {
        if let Ok(inspect) = result {
            let layers = inspect.root_fs.and_then(|r| r.layers);
            images[i].layer_count = layers.as_ref().map(|l| l.len());
            images[i].diff_ids = layers.unwrap_or_default();
        }
    }
}

/// What to hand to `docker save`: the full id when the user named the image by id or
/// digest, else the user's name with `:latest` added when untagged (an untagged name
/// would save every tag of the repository).
pub(super) fn save_reference(reference: &str, image: &DaemonImage) -> String {
    let tagged = with_default_tag(reference);
    let is_tag = image
        .repo_tags
        .iter()
        .any(|t| normalize_name(t) == normalize_name(&tagged));
    if reference.contains('@') || (!is_tag && is_id_prefix(reference, &image.id)) {
        image.id.clone()
    } else {
        tagged
    }
}

/// `name` with `:latest` when its last path component has no tag.
pub(super) fn with_default_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// Drops the implicit Docker Hub parts of a name (`docker.io/library/x` is `x`).
pub(super) fn normalize_name(name: &str) -> &str {
    let name = name
        .strip_prefix("docker.io/")
        .or_else(|| name.strip_prefix("index.docker.io/"))
        .unwrap_or(name);
    name.strip_prefix("library/").unwrap_or(name)
}

/// Whether `reference` is (a prefix of) the image id, with or without `sha256:`.
pub(super) fn is_id_prefix(reference: &str, id: &str) -> bool {
    let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
    let id_hex = id.strip_prefix("sha256:").unwrap_or(id);
    !hex.is_empty()
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && id_hex.starts_with(hex)
}
