//! Files and directories that only the service's own user may read: the data
//! directory (0700), the SQLite databases and the generated JWT secret in it
//! (0600). Other users of the machine must not read hashes, sessions or keys.

use std::{fs, io, path::Path};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

/// Creates `path` and its missing parents with mode 0700. A directory that
/// already exists keeps the mode its owner gave it.
pub fn create_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(path)
}

/// Creates `path` as a new, empty file with mode 0600, failing if it exists.
pub fn create_file(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_and_files_are_private() {
        let root = std::env::temp_dir().join(format!("private-files-{}", std::process::id()));
        let nested = root.join("a/b");
        create_dir(&nested).unwrap();
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&nested), 0o700);
        create_file(&nested.join("secret")).unwrap();
        assert_eq!(mode(&nested.join("secret")), 0o600);
        assert_eq!(
            create_file(&nested.join("secret")).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        fs::remove_dir_all(root).unwrap();
    }
}
