// The one place the release is named: `outpost --version`, `outpostctl --version` and the
// `outpost_build_info` metric all print this. Between releases it carries `-dev` (CHANGELOG.md's
// "Unreleased" section says what it holds).
public enum OutpostRelease {
    public static let version = "0.1.0-dev"
}
