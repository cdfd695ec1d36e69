"""Schedule arithmetic: every N days, weeks, months or years, month ends, leap years, weekend
rules, end dates and counts; pure functions, no database."""

from datetime import date, timedelta
from itertools import islice, pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.errors import InvalidArgument
from service.domain.recurring import OccurrenceStatus, resumed_through
from service.domain.schedules import (
    MAX_COUNT,
    MAX_INTERVAL,
    Frequency,
    Occurrence,
    Schedule,
    WeekendRule,
    booked_between,
    check_schedule,
    first_after,
    occurrence_on,
    occurrences,
)

D, W, M, Y = Frequency.DAILY, Frequency.WEEKLY, Frequency.MONTHLY, Frequency.YEARLY


def scheduled(schedule: Schedule, n: int = 6) -> list[date]:
    return [o.scheduled_date for o in islice(occurrences(schedule), n)]


def booked(schedule: Schedule, n: int = 6) -> list[date]:
    return [o.booking_date for o in islice(occurrences(schedule), n)]


def violations(schedule: Schedule) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        check_schedule(schedule)
    return {v.field: v.description for v in caught.value.violations}


class TestEveryN:
    def test_daily_steps_by_the_interval(self):
        assert scheduled(Schedule(D, date(2024, 2, 27), interval=2), 3) == [
            date(2024, 2, 27),
            date(2024, 2, 29),
            date(2024, 3, 2),
        ]

    def test_weekly_starts_on_the_first_chosen_weekday_on_or_after_the_start(self):
        # 2024-01-03 is a Wednesday; weekday 0 is Monday.
        assert scheduled(Schedule(W, date(2024, 1, 3), weekday=0, interval=2), 3) == [
            date(2024, 1, 8),
            date(2024, 1, 22),
            date(2024, 2, 5),
        ]

    def test_weekly_on_the_start_weekday_starts_on_the_start(self):
        assert scheduled(Schedule(W, date(2024, 1, 3), weekday=2), 2) == [
            date(2024, 1, 3),
            date(2024, 1, 10),
        ]

    def test_weekly_defaults_to_the_start_weekday(self):
        assert scheduled(Schedule(W, date(2024, 1, 6)), 2) == [date(2024, 1, 6), date(2024, 1, 13)]

    def test_monthly_every_three_months(self):
        assert scheduled(Schedule(M, date(2024, 11, 15), interval=3), 3) == [
            date(2024, 11, 15),
            date(2025, 2, 15),
            date(2025, 5, 15),
        ]

    def test_yearly_every_two_years(self):
        assert scheduled(Schedule(Y, date(2024, 3, 1), interval=2), 3) == [
            date(2024, 3, 1),
            date(2026, 3, 1),
            date(2028, 3, 1),
        ]


class TestMonthEnds:
    def test_the_31st_falls_on_each_months_last_day_in_a_leap_year(self):
        assert scheduled(Schedule(M, date(2024, 1, 31)), 5) == [
            date(2024, 1, 31),
            date(2024, 2, 29),
            date(2024, 3, 31),
            date(2024, 4, 30),
            date(2024, 5, 31),
        ]

    def test_the_31st_falls_on_february_28th_in_a_common_year(self):
        assert scheduled(Schedule(M, date(2023, 1, 31)), 3) == [
            date(2023, 1, 31),
            date(2023, 2, 28),
            date(2023, 3, 31),
        ]

    def test_the_30th_is_kept_after_february(self):
        assert scheduled(Schedule(M, date(2023, 1, 30)), 3)[1:] == [
            date(2023, 2, 28),
            date(2023, 3, 30),
        ]

    def test_day_of_month_before_the_start_day_starts_next_month(self):
        assert scheduled(Schedule(M, date(2024, 1, 15), day_of_month=1), 2) == [
            date(2024, 2, 1),
            date(2024, 3, 1),
        ]

    def test_day_of_month_after_the_start_day_starts_this_month(self):
        assert scheduled(Schedule(M, date(2024, 1, 15), day_of_month=31), 2) == [
            date(2024, 1, 31),
            date(2024, 2, 29),
        ]

    def test_day_of_month_on_the_start_day_starts_on_the_start(self):
        assert scheduled(Schedule(M, date(2024, 1, 15), day_of_month=15), 1) == [date(2024, 1, 15)]

    def test_yearly_february_29th_falls_on_the_28th_in_common_years(self):
        assert scheduled(Schedule(Y, date(2024, 2, 29)), 5) == [
            date(2024, 2, 29),
            date(2025, 2, 28),
            date(2026, 2, 28),
            date(2027, 2, 28),
            date(2028, 2, 29),
        ]

    def test_the_last_year_of_the_calendar_ends_the_schedule(self):
        assert scheduled(Schedule(Y, date(9998, 12, 31)), 5) == [
            date(9998, 12, 31),
            date(9999, 12, 31),
        ]
        assert scheduled(Schedule(D, date(9999, 12, 30)), 5) == [
            date(9999, 12, 30),
            date(9999, 12, 31),
        ]


class TestWeekends:
    # 2024-06-01 is a Saturday, 2024-06-02 a Sunday.
    def test_keep_books_on_the_weekend(self):
        assert booked(Schedule(D, date(2024, 5, 31), weekend=WeekendRule.KEEP), 3) == [
            date(2024, 5, 31),
            date(2024, 6, 1),
            date(2024, 6, 2),
        ]

    def test_skip_drops_weekend_days(self):
        assert booked(Schedule(D, date(2024, 5, 31), weekend=WeekendRule.SKIP), 2) == [
            date(2024, 5, 31),
            date(2024, 6, 3),
        ]

    def test_before_books_saturday_and_sunday_on_the_friday(self):
        found = list(
            islice(occurrences(Schedule(D, date(2024, 6, 1), weekend=WeekendRule.BEFORE)), 3)
        )
        assert [(o.scheduled_date, o.booking_date) for o in found] == [
            (date(2024, 6, 1), date(2024, 5, 31)),
            (date(2024, 6, 2), date(2024, 5, 31)),
            (date(2024, 6, 3), date(2024, 6, 3)),
        ]

    def test_after_books_saturday_and_sunday_on_the_monday(self):
        assert booked(Schedule(D, date(2024, 6, 1), weekend=WeekendRule.AFTER), 3) == [
            date(2024, 6, 3),
            date(2024, 6, 3),
            date(2024, 6, 3),
        ]

    def test_friday_and_monday_stay_where_they_are(self):
        for rule in WeekendRule:
            assert booked(Schedule(D, date(2024, 5, 31), weekend=rule), 1) == [date(2024, 5, 31)]
            assert booked(Schedule(D, date(2024, 6, 3), weekend=rule), 1) == [date(2024, 6, 3)]

    def test_month_end_on_a_weekend_moves_to_the_friday(self):
        # 2024-08-31 is a Saturday.
        schedule = Schedule(M, date(2024, 7, 31), weekend=WeekendRule.BEFORE)
        assert booked(schedule, 2) == [date(2024, 7, 31), date(2024, 8, 30)]


class TestEnds:
    def test_end_date_is_the_last_possible_scheduled_date(self):
        schedule = Schedule(D, date(2024, 1, 1), end_date=date(2024, 1, 3))
        assert scheduled(schedule, 10) == [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)]

    def test_an_occurrence_moved_past_the_end_date_is_kept(self):
        # Saturday 2024-06-01 is the end; it is booked on Monday the 3rd.
        schedule = Schedule(
            D, date(2024, 6, 1), end_date=date(2024, 6, 1), weekend=WeekendRule.AFTER
        )
        assert booked(schedule, 10) == [date(2024, 6, 3)]

    def test_count_is_the_number_of_occurrences(self):
        assert len(scheduled(Schedule(M, date(2024, 1, 31), count=3), 10)) == 3

    def test_weekend_days_skipped_do_not_count(self):
        schedule = Schedule(D, date(2024, 5, 31), count=2, weekend=WeekendRule.SKIP)
        assert booked(schedule, 10) == [date(2024, 5, 31), date(2024, 6, 3)]

    def test_first_after_an_ended_schedule_is_none(self):
        schedule = Schedule(D, date(2024, 1, 1), count=2)
        assert first_after(schedule, date(2024, 1, 1)) is not None
        assert first_after(schedule, date(2024, 1, 2)) is None


class TestOccurrenceOn:
    def test_finds_a_scheduled_date_only(self):
        schedule = Schedule(M, date(2024, 1, 31), count=2, weekend=WeekendRule.AFTER)
        assert occurrence_on(schedule, date(2024, 2, 29)) == Occurrence(
            date(2024, 2, 29), date(2024, 2, 29)
        )
        assert occurrence_on(schedule, date(2024, 2, 28)) is None
        assert occurrence_on(schedule, date(2024, 1, 30)) is None  # before the start
        assert occurrence_on(schedule, date(2024, 3, 31)) is None  # past the count


class TestBookedBetween:
    def test_includes_both_ends(self):
        schedule = Schedule(D, date(2024, 1, 1))
        found = list(booked_between(schedule, date(2024, 1, 3), date(2024, 1, 5)))
        assert [o.booking_date for o in found] == [
            date(2024, 1, 3),
            date(2024, 1, 4),
            date(2024, 1, 5),
        ]

    def test_ends_for_an_endless_schedule(self):
        found = list(
            booked_between(Schedule(M, date(2024, 1, 31)), date(2030, 1, 1), date(2030, 12, 31))
        )
        assert len(found) == 12


class TestCheckSchedule:
    def test_accepts_the_limits(self):
        check_schedule(Schedule(D, date(2024, 1, 1), interval=MAX_INTERVAL, count=MAX_COUNT))
        check_schedule(Schedule(D, date(2024, 1, 1), interval=1, count=1))
        check_schedule(Schedule(M, date(2024, 1, 1), day_of_month=31))
        check_schedule(Schedule(Y, date(2024, 1, 1), day_of_month=1))
        check_schedule(Schedule(D, date(2024, 1, 1), end_date=date(2024, 1, 1)))

    def test_refuses_past_the_limits(self):
        assert violations(Schedule(D, date(2024, 1, 1), interval=0)) == {
            "schedule.interval": f"must be between 1 and {MAX_INTERVAL}"
        }
        assert set(violations(Schedule(D, date(2024, 1, 1), interval=MAX_INTERVAL + 1))) == {
            "schedule.interval"
        }
        assert set(violations(Schedule(D, date(2024, 1, 1), count=0))) == {"schedule.count"}
        assert set(violations(Schedule(D, date(2024, 1, 1), count=MAX_COUNT + 1))) == {
            "schedule.count"
        }
        assert set(violations(Schedule(M, date(2024, 1, 1), day_of_month=32))) == {
            "schedule.day_of_month"
        }
        assert set(violations(Schedule(M, date(2024, 1, 1), day_of_month=0))) == {
            "schedule.day_of_month"
        }

    def test_refuses_an_end_before_the_start(self):
        schedule = Schedule(D, date(2024, 1, 2), end_date=date(2024, 1, 1))
        assert violations(schedule) == {"schedule.end_date": "must not be before start_date"}

    def test_refuses_an_end_date_with_a_count(self):
        schedule = Schedule(D, date(2024, 1, 1), end_date=date(2024, 2, 1), count=3)
        assert set(violations(schedule)) == {"schedule.count"}

    def test_refuses_fields_of_other_frequencies(self):
        assert set(violations(Schedule(W, date(2024, 1, 1), day_of_month=3))) == {
            "schedule.day_of_month"
        }
        assert set(violations(Schedule(M, date(2024, 1, 1), weekday=3))) == {"schedule.weekday"}

    def test_refuses_a_schedule_that_skips_every_occurrence(self):
        # 2024-06-01 is a Saturday: every 7 days from it, and every Sunday, are weekends.
        skip = WeekendRule.SKIP
        assert set(violations(Schedule(D, date(2024, 6, 1), interval=7, weekend=skip))) == {
            "schedule.weekend"
        }
        assert set(violations(Schedule(W, date(2024, 6, 3), weekday=6, weekend=skip))) == {
            "schedule.weekend"
        }
        check_schedule(Schedule(D, date(2024, 6, 3), interval=7, weekend=skip))
        check_schedule(Schedule(D, date(2024, 6, 1), interval=6, weekend=skip))
        check_schedule(Schedule(W, date(2024, 6, 1), weekday=4, weekend=skip))


class TestResume:
    def test_occurrences_booked_before_the_day_of_resuming_are_done_with(self):
        schedule = Schedule(D, date(2024, 1, 1))
        assert resumed_through(schedule, None, date(2024, 1, 5)) == date(2024, 1, 4)

    def test_resuming_before_the_start_leaves_everything_to_come(self):
        schedule = Schedule(D, date(2024, 1, 5))
        assert resumed_through(schedule, None, date(2024, 1, 5)) is None

    def test_a_later_mark_stays(self):
        schedule = Schedule(D, date(2024, 1, 1))
        assert resumed_through(schedule, date(2024, 1, 9), date(2024, 1, 5)) == date(2024, 1, 9)

    def test_status_values_are_stable(self):
        assert [s.value for s in OccurrenceStatus] == ["scheduled", "recorded", "skipped", "failed"]


schedules = st.builds(
    Schedule,
    frequency=st.sampled_from(list(Frequency)),
    start_date=st.dates(date(1990, 1, 1), date(2090, 12, 31)),
    interval=st.integers(1, 40),
    day_of_month=st.none() | st.integers(1, 31),
    weekend=st.sampled_from(list(WeekendRule)),
)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(schedules)
def test_occurrences_are_ordered_start_on_time_and_booked_on_weekdays(schedule: Schedule):
    if schedule.frequency not in (M, Y):
        schedule = Schedule(
            schedule.frequency, schedule.start_date, schedule.interval, weekend=schedule.weekend
        )
    try:
        check_schedule(schedule)
    except InvalidArgument:
        return
    found = list(islice(occurrences(schedule), 30))
    assert found, "an endless schedule has occurrences"
    assert found[0].scheduled_date >= schedule.start_date
    for earlier, later in pairwise(found):
        assert earlier.scheduled_date < later.scheduled_date
        assert earlier.booking_date <= later.booking_date
    for o in found:
        assert abs(o.booking_date - o.scheduled_date) <= timedelta(days=2)
        if schedule.weekend is not WeekendRule.KEEP:
            assert o.booking_date.weekday() < 5
        if schedule.frequency in (M, Y):
            wanted = schedule.day_of_month or schedule.start_date.day
            next_day = o.scheduled_date + timedelta(days=1)
            assert o.scheduled_date.day == wanted or (
                o.scheduled_date.day < wanted and next_day.day == 1
            )
