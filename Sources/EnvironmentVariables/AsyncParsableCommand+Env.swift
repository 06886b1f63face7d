import ArgumentParser

extension AsyncParsableCommand {
    /// ArgumentParser's `main`, with one check between parsing and running: the options' defaults
    /// have read the environment by then, and a variable they could not parse ends the run (exit 64,
    /// one line per variable) instead of leaving the default in its place. An executable's `@main`
    /// type calls this from its own `static func main()`.
    package static func mainRefusingUnparseableVariables() async {
        do {
            var command: any ParsableCommand
            do {
                command = try parseAsRoot()
            } catch where !(error is CleanExit) && !Env.problems.isEmpty {
                // A command's own validation failed, maybe for want of the value the variable meant to set.
                exit(withError: ValidationError(Env.problems.joined(separator: "\n")))
            }
            let problems = Env.problems
            guard problems.isEmpty else {
                type(of: command).exit(withError: ValidationError(problems.joined(separator: "\n")))
            }
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
