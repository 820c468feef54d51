/// hush's version: `hush version` prints it and the OpenAPI document's `info.version` is it.
public enum Hush {
    public static let version = "0.1.0"
}
