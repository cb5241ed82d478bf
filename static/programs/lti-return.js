// Sends the signed Deep Linking response back to the LMS as soon as the page loads.
document.getElementById("lti-return").submit();
