import Foundation
import HushAPI
import HushStore

// hush: command line, settings, signals, exit codes. Everything else lives in HushAPI.

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("hush: \(message)\n".utf8))
    exit(1)
}

let options: CommandLineOptions
do { options = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst())) } catch { fail(error.message) }

switch options.command {
case .help:
    print(CommandLineOptions.usage)
    exit(0)
case .version:
    print("hush \(Hush.version) (SQLite \(SQLiteLibrary.version))")
    exit(0)
case .hashKey:
    // The key comes on standard input, not as an argument: arguments end up in shell history
    // and in every process listing.
    let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    let key = input.hasSuffix("\r\n") ? String(input.dropLast(2)) : input.hasSuffix("\n") ? String(input.dropLast()) : input
    guard key.utf8.count >= 16 else { fail("an API key should be at least 16 characters; pipe it in: openssl rand -hex 32 | hush hash-key") }
    print(Authenticator.hexDigest(of: key))
    exit(0)
case .serve:
    break
}

let settings: Settings
do { settings = try Settings.resolve(options, environment: ProcessInfo.processInfo.environment) } catch { fail(error.message) }

// Block SIGTERM and SIGINT before any thread starts, so that every thread inherits the mask
// and the signals wait for sigwait below instead of killing the process mid-request.
var signals = sigset_t()
sigemptyset(&signals)
sigaddset(&signals, SIGTERM)
sigaddset(&signals, SIGINT)
pthread_sigmask(SIG_BLOCK, &signals, nil)

let service: Service
do { service = try Service(settings: settings) } catch { fail("\(error)") }
print(service.readyLine)
fflush(nil)

var received: Int32 = 0
sigwait(&signals, &received)
service.shutdown()
exit(0)
