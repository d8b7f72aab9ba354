"""Stations (驿站, 爱心角), signed QR scenes, check-in and the nearby search.

Check-in refusal codes (status): checkin.rate_limited (429), checkin.invalid_scene (400:
malformed, unknown station, forged or rotated code), checkin.station_inactive (400),
checkin.not_registered (403), checkin.poor_accuracy (400), checkin.out_of_range (400,
details.distance_m), checkin.impossible_travel (400), checkin.already_checked_in (409),
checkin.daily_cap_reached (400). A check-in while the station is closed succeeds with
status "closed" and no points. See `checkins.py` for the order and the reasoning.
"""
