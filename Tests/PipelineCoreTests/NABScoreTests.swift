import Testing

@testable import PipelineCore

/// NAB's scoring on a hand-made series, each term worked out by hand
/// (S(x) = 2 / (1 + e^{5x}) − 1; S(−1) = 0.986614).
@Suite struct NABScoreTests {
    /// 100 rows (probation: the first 15), windows at rows 40–49 and 80–89 (width 10).
    static let windows = [40...49, 80...89]
    static let alerts = [
        10,  // in probation: nothing
        30,  // before the first window: −fp
        42,  // first alert of window 1: p = −(49 − 42 + 1) / 10 = −0.8, tp · S(−0.8) / S(−1) = 0.977107
        45,  // second alert of window 1: nothing
        55,  // past window 1: q = (55 − 49) / 9 = 0.667, fp · S(0.667) = 0.11 · −0.931109 = −0.102422
        77,  // q = 28 / 9 > 3: −fp
        99,  // past window 2: q = 10 / 9, fp · S(1.111) = −0.109153
    ]  // window 2 has no alert: −fn

    @Test func theStandardProfileAddsUpTheHandWorkedTerms() {
        let score = NABScore(alerts: Self.alerts, windows: Self.windows, count: 100, profile: .standard)
        // 0.977107 − 0.11 − 0.102422 − 0.11 − 0.109153 − 1
        #expect(abs(score.raw - -0.454468) < 1e-5, "\(score.raw)")
        #expect(score.null == -2)
        #expect(score.perfect == 2)
        // 100 · (−0.454468 + 2) / (2 + 2)
        #expect(abs(score.normalised - 38.6383) < 1e-3, "\(score.normalised)")
    }

    @Test func profilesWeighTheSameAlertsDifferently() {
        let lowFN = NABScore(alerts: Self.alerts, windows: Self.windows, count: 100, profile: .lowFN)
        // The miss costs 2: raw −1.454468, null −4, perfect 2: 100 · 2.545532 / 6.
        #expect(abs(lowFN.normalised - 42.4255) < 1e-3, "\(lowFN.normalised)")
        let lowFP = NABScore(alerts: Self.alerts, windows: Self.windows, count: 100, profile: .lowFP)
        // The false alerts cost twice as much: 0.977107 − 2 · 0.431575 − 1.
        #expect(abs(lowFP.raw - (0.977107 - 2 * 0.431575 - 1)) < 1e-5, "\(lowFP.raw)")
    }

    @Test func neverAlertingScoresZeroAndThePerfectDetectorAHundred() {
        let never = NABScore(alerts: [], windows: Self.windows, count: 100, profile: .standard)
        #expect(never.normalised == 0)
        let perfect = NABScore(alerts: [40, 80], windows: Self.windows, count: 100, profile: .standard)
        #expect(abs(perfect.normalised - 100) < 1e-9)
        // A series without windows: every alert is false, at the full weight.
        let quiet = NABScore(alerts: [20, 50], windows: [], count: 100, profile: .standard)
        #expect(quiet.raw == -0.22 && quiet.null == 0 && quiet.perfect == 0)
        // Scores of several series are summed before normalising.
        let sum = never + perfect
        #expect(abs(sum.normalised - 50) < 1e-9)
    }

    @Test func probationIsFifteenPercentAtMost750Rows() {
        #expect(NABScore.probation(count: 100) == 15)
        #expect(NABScore.probation(count: 4032) == 604)
        #expect(NABScore.probation(count: 22_695) == 750)
    }
}
