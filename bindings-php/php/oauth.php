<?php
// Declared by the extension at request startup: PHPMailer's XOAUTH2 token interface and its
// league/oauth2-client adapter, so `$mail->setOAuth(new OAuth([...]))` code ports unchanged.
namespace Polymailer\PHPMailer;

if (!\interface_exists(OAuthTokenProvider::class, false)) {
    interface OAuthTokenProvider
    {
        /**
         * The XOAUTH2 initial response, base64 of "user=<email>\001auth=Bearer <token>\001\001".
         * @return string
         */
        public function getOauth64();
    }
}

if (!\class_exists(OAuth::class, false)) {
    class OAuth implements OAuthTokenProvider
    {
        /** @var object a league/oauth2-client provider (AbstractProvider) */
        protected $provider;
        /** @var object|null the current access token (AccessToken) */
        protected $oauthToken;
        protected $oauthUserEmail = '';
        protected $oauthClientSecret = '';
        protected $oauthClientId = '';
        protected $oauthRefreshToken = '';

        /**
         * @param array $options provider, userName, clientSecret, clientId, refreshToken
         */
        public function __construct($options)
        {
            $this->provider = $options['provider'];
            $this->oauthUserEmail = $options['userName'];
            $this->oauthClientSecret = $options['clientSecret'];
            $this->oauthClientId = $options['clientId'];
            $this->oauthRefreshToken = $options['refreshToken'];
        }

        /** A refresh-token grant (league/oauth2-client). */
        protected function getGrant()
        {
            return new \League\OAuth2\Client\Grant\RefreshToken();
        }

        /** A fresh access token from the provider. */
        protected function getToken()
        {
            return $this->provider->getAccessToken(
                $this->getGrant(),
                ['refresh_token' => $this->oauthRefreshToken]
            );
        }

        public function getOauth64()
        {
            if (null === $this->oauthToken || $this->oauthToken->hasExpired()) {
                $this->oauthToken = $this->getToken();
            }
            return \base64_encode(
                'user=' . $this->oauthUserEmail . "\001auth=Bearer " . $this->oauthToken . "\001\001"
            );
        }
    }
}
