"""KYC: attestations from KycRegistry (the applicant flow comes with the KYC issue)."""
