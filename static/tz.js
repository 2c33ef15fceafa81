// Tells the server this browser's time zone, so times show in it for users who chose none in
// settings (routes/middleware/time_zone.ts). Without JavaScript, times show in UTC, labelled.
try {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const cookie = "orion_tz=" + encodeURIComponent(zone);
  if (zone && document.cookie.split("; ").indexOf(cookie) < 0) {
    document.cookie = cookie + "; path=/; max-age=31536000; samesite=lax" +
      (location.protocol === "https:" ? "; secure" : "");
  }
} catch (_) {
  // An old browser without Intl time zones: UTC it is.
}
